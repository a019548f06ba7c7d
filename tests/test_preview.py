"""The preview of the first messages, and the question a large send asks on a terminal."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest

from broadcaster.cli import main
from broadcaster.journal import JournalState
from broadcaster.plan import Message
from broadcaster.preview import confirmed, first_messages, outlook, preview_lines
from broadcaster.settings import Settings

ROWS = "".join(f"+1415555{n:04d},Ann{n}\n" for n in range(100, 112))
CAMPAIGN = "phone_number,first_name\n" + ROWS


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    source = tmp_path / "c.csv"
    source.write_text(CAMPAIGN)
    return Settings(
        input=str(source), text="Hi {{first_name}}", inbox_id=101, creator_id=55, confirm_above=10
    )


class TestPreview:
    def test_the_first_messages_are_shown_with_target_segments_and_key(
        self, settings: Settings
    ) -> None:
        messages = first_messages(settings, JournalState(), 2)
        lines = preview_lines(messages)
        assert lines[0] == (
            f"preview   line 2: phone_number 14155550100 · 1 SMS segment · key {messages[0].key}"
        )
        assert lines[1] == "            text: 'Hi Ann100'"
        assert lines[2].startswith("          line 3: phone_number 14155550101")

    def test_a_long_text_is_cut_and_new_lines_shown(self) -> None:
        body = {"phone_number": "14155550100", "text": "a\nb" + "x" * 300}
        [_, text] = preview_lines([Message(2, "k", body)])
        assert "a⏎ bxxx" in text
        assert text.endswith("…'")
        assert len(text) < 230

    def test_rows_an_earlier_run_settled_are_not_shown(self, settings: Settings) -> None:
        first = first_messages(settings, JournalState(), 1)[0]
        state = JournalState()
        state.note(first.key, "sent")
        assert first_messages(settings, state, 1)[0].line == 3

    def test_validate_shows_the_preview_and_preview_0_none(
        self, settings: Settings, capsys: pytest.CaptureFixture[str]
    ) -> None:
        argv = ["validate", settings.input, "--text", "Hi {{first_name}}", "--inbox-id", "1",
                "--creator-id", "2"]  # fmt: skip
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert out.count("phone_number 1415555") == 3  # the default: 3
        assert main([*argv, "--preview", "0"]) == 0
        assert "preview" not in capsys.readouterr().out


class TestConfirmation:
    def test_a_large_send_on_a_terminal_asks_and_says_what_it_will_do(
        self, settings: Settings
    ) -> None:
        stream = io.StringIO()
        assert confirmed(
            settings, JournalState, interactive=True, stream=stream, answer=lambda: "y\n"
        )
        question = stream.getvalue()
        assert "About to send 12 messages (12 SMS segments, 0 MMS) to api.heymarket.com" in question
        assert "at 480/m: about 2s" in question
        assert question.endswith("Send them? [y/N] ")

    @pytest.mark.parametrize("reply", ["", "n\n", "no\n", "maybe\n"])
    def test_anything_but_yes_is_no(self, settings: Settings, reply: str) -> None:
        stream = io.StringIO()
        assert not confirmed(
            settings, JournalState, interactive=True, stream=stream, answer=lambda: reply
        )

    def test_off_a_terminal_or_with_yes_nothing_asks_nor_reads_the_journal(
        self, settings: Settings
    ) -> None:
        """A resume of a million-row campaign read its journal twice, once for a question
        --yes (or no terminal) never asks."""

        def never() -> str:
            raise AssertionError

        def unread() -> JournalState:
            raise AssertionError("the journal was read")

        assert confirmed(settings, unread, interactive=False, answer=never)
        yes = replace(settings, yes=True)
        assert confirmed(yes, unread, interactive=True, answer=never)

    def test_a_send_at_or_under_the_threshold_does_not_ask(self, settings: Settings) -> None:
        def never() -> str:
            raise AssertionError

        small = replace(settings, confirm_above=12)
        assert confirmed(small, JournalState, interactive=True, answer=never)

    def test_a_limit_at_or_under_the_threshold_does_not_ask_nor_read_the_journal(
        self, settings: Settings
    ) -> None:
        """``--limit 300`` of a 20,000-row campaign asked about 19,564 messages and 41 min."""

        def never() -> str:
            raise AssertionError

        def unread() -> JournalState:
            raise AssertionError("the journal was read")

        assert confirmed(replace(settings, limit=10), unread, interactive=True, answer=never)
        stream = io.StringIO()
        limited = replace(settings, limit=11)
        assert confirmed(limited, JournalState, interactive=True, stream=stream, answer=lambda: "y")
        assert "About to send 11 messages (11 SMS segments, 0 MMS)" in stream.getvalue()

    def test_a_resumes_sample_counts_the_rows_it_takes(self, settings: Settings) -> None:
        """A row due to be taken that an earlier run settled hands its turn on, as the run
        does: the first row (due) is settled, so the second is taken."""
        state = JournalState()
        first = first_messages(settings, JournalState(), 1)[0]
        state.note(first.key, "sent")
        taken = first_messages(replace(settings, sample=2), state, 5)
        assert [message.line for message in taken] == [3, 8]  # due: lines 2 and 8 of 12 rows

    def test_the_count_is_what_this_run_sends(self, settings: Settings) -> None:
        """A resume with two messages left does not ask about the whole campaign."""
        state = JournalState()
        for message in first_messages(settings, JournalState(), 10):
            state.note(message.key, "sent")
        assert outlook(settings, state).messages == 2


class TestSendAsks:
    @pytest.fixture
    def terminal(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr("broadcaster.preview._on_a_terminal", lambda: True)

    def argv(self, settings: Settings, *more: str) -> list[str]:
        return ["send", settings.input, "--sandbox", "--rate", "0", "--text", "Hi",
                "--inbox-id", "101", "--creator-id", "55", "--confirm-above", "10",
                "--quiet", *more]  # fmt: skip

    @pytest.mark.usefixtures("terminal")
    def test_no_sends_nothing_and_creates_no_journal(
        self,
        settings: Settings,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
        assert main(self.argv(settings)) == 2
        err = capsys.readouterr().err
        assert "About to send 12 messages" in err
        assert err.endswith(
            "Send them? [y/N] not sent: the answer was not yes (--yes sends without asking)\n"
        )
        assert not Path(settings.input + ".results.jsonl").exists()

    @pytest.mark.usefixtures("terminal")
    def test_yes_sends(
        self,
        settings: Settings,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
        assert main(self.argv(settings)) == 0
        assert "sandbox   12 messages committed" in capsys.readouterr().out

    @pytest.mark.usefixtures("terminal")
    def test_the_yes_option_does_not_ask(
        self, settings: Settings, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(self.argv(settings, "--yes")) == 0
        assert "About to send" not in capsys.readouterr().err

    def test_off_a_terminal_nothing_asks(
        self, settings: Settings, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(self.argv(settings)) == 0
        assert "About to send" not in capsys.readouterr().err
