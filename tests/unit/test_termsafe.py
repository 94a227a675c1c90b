"""Control characters from outside are written out, never obeyed by the terminal."""

from __future__ import annotations

from rlm_cli.events import CellExecuted, Notice
from rlm_cli.termsafe import visible, visible_event, visible_value

OSC52 = "\x1b]52;c;ZWNobyBwd25lZA==\x07"  # writes the clipboard
TITLE = "\x1b]0;owned\x07"
CLEAR = "\x1b[2J\x1b[H"
LINK = "\x1b]8;;file:///etc/passwd\x1b\\click\x1b]8;;\x1b\\"


def test_escape_sequences_become_visible_text() -> None:
    for attack in (OSC52, TITLE, CLEAR, LINK, "\x9b31m", "a\x08\x08b", "bell\x07"):
        shown = visible(attack)
        assert not any(ord(ch) < 0x20 and ch not in "\n\t" for ch in shown), repr(shown)
        assert not any(0x7F <= ord(ch) <= 0x9F for ch in shown), repr(shown)
    assert visible(TITLE) == "\\x1b]0;owned\\x07"


def test_ordinary_text_is_untouched_and_crlf_reads_as_lines() -> None:
    text = "line one\n\tindented — ünïcode ✓\n"
    assert visible(text) is text
    assert visible("a\r\nb\x1b") == "a\nb\\x1b"
    assert visible("progress 10%\rprogress 20%") == "progress 10%\\x0dprogress 20%"


def test_bidi_overrides_cannot_reorder_what_is_shown() -> None:
    assert visible("access = 'user\u202e \u2066// admin\u2069'") == "access = 'user\\u202e \\u2066// admin\\u2069'"


def test_events_nested_values_and_keys_are_cleaned() -> None:
    event = CellExecuted("run", turn=1, cell=1, output=f"hits: {OSC52}", output_chars=9, error=None,
                         duration_s=0.1, timed_out=False, restarted=False)
    cleaned = visible_event(event)
    assert "\x1b" not in cleaned.output and cleaned.ts == event.ts and cleaned.turn == 1
    assert visible_value({"na\x1bme": [TITLE, 3]}) == {"na\\x1bme": ["\\x1b]0;owned\\x07", 3]}
    plain = Notice("run", message="fine", level="info")
    assert visible_event(plain) is plain
