"""The faults a sandbox can inject, by name.

Here, outside the ``sandbox`` package (whose import starts aiohttp), because
``broadcaster sandbox`` adds an option for each and ``broadcaster --help`` must stay fast.
"""

from __future__ import annotations

FAULT_KINDS = ("500", "503", "429", "drop_before", "drop_after", "slow", "bad_json")
"""Each a probability per request; at most one fault hits a request.

``drop_before`` closes the connection before the message is committed, ``drop_after`` after
(the client cannot tell which: only the same ``local_id`` on the retry saves it from sending
twice); ``slow`` commits, then answers after ``slow_delay``; ``bad_json`` commits, then answers
200 with a body that is not JSON.
"""
