"""A local stand-in of the Heymarket API, for tests, the demo and the benchmarks."""

from broadcaster.sandbox.app import CONFIG, STATE, create_app
from broadcaster.sandbox.config import FAULT_KINDS, Inbox, Member, SandboxConfig
from broadcaster.sandbox.state import SandboxState

__all__ = [
    "CONFIG",
    "FAULT_KINDS",
    "STATE",
    "Inbox",
    "Member",
    "SandboxConfig",
    "SandboxState",
    "create_app",
]
