"""Citations on output: stderr notes, links made only by rlm, and a terminal-safe Sources list."""

from __future__ import annotations

import io

from rich.console import Console

from rlm_cli.render.answer import print_result
from rlm_cli.render.citations import link, notes
from rlm_cli.result import RunResult

VERIFIED = {"cite": "src/a.py:3", "cited": "src/a.py:3", "status": "verified", "file": "/work/my repo/src/a.py",
            "line_start": 3, "page": None, "text": "def f():\x1b]0;pwned\x07"}
MOVED = {"cite": "src/a.py:9", "cited": "src/a.py:2", "status": "moved", "file": "/work/my repo/src/a.py",
         "line_start": 9, "page": None, "text": "x = 1"}
UNSUPPORTED = {"cite": "b.py:99", "cited": "b.py:99", "status": "unsupported", "file": None, "line_start": 99,
               "page": None, "note": "no file b.py in the input"}
PDF = {"cite": "p.pdf#page=2", "cited": "p.pdf#page=2", "status": "verified", "file": "/work/p.pdf", "line_start": None, "page": 2}
ANSWER = 'f is at `src/a.py:3`, x at src/a.py:9 "x = 1", y at b.py:99; see [this](file:///etc/passwd).'


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_links_open_the_file_at_the_line_or_page() -> None:
    assert link(VERIFIED) == "file:///work/my%20repo/src/a.py#3"
    assert link(PDF) == "file:///work/p.pdf#page=2"
    assert link(UNSUPPORTED) is None


def test_moved_and_unsupported_citations_get_a_stderr_line() -> None:
    assert notes([VERIFIED, MOVED, UNSUPPORTED]) == (
        "rlm: citation src/a.py:2 corrected to src/a.py:9 (its quote is there)\n"
        "rlm: unsupported citation b.py:99: no file b.py in the input\n"
    )


def test_on_a_terminal_citations_link_and_sources_follow_the_answer() -> None:
    out, err = Terminal(), io.StringIO()
    result = RunResult(answer=ANSWER, ready=True, stopped_by="answer", citations=[VERIFIED, MOVED, UNSUPPORTED])
    print_result(result, as_json=False, out=out, err=err)
    shown = out.getvalue()
    assert shown.count("\x1b]8;id=") == 4  # two in the answer, two in the Sources list; none for /etc/passwd
    assert "file:///work/my%20repo/src/a.py#3\x1b\\" in shown and "file:///work/my%20repo/src/a.py#9\x1b\\" in shown
    assert "file:///etc/passwd" in shown and "passwd\x1b\\" not in shown  # the answer's own link stays text
    assert "b.py:99 ⚠" in shown
    assert "\x1b]0;" not in shown and "\\x1b]0;pwned\\x07" in shown  # cited text from the input is made visible
    assert "Sources" in shown and "(cited as src/a.py:2)" in shown and "no file b.py in the input" in shown
    assert "rlm: unsupported citation b.py:99" in err.getvalue()


def test_piped_output_is_the_plain_answer() -> None:
    out, err = io.StringIO(), io.StringIO()
    print_result(RunResult(answer=ANSWER, ready=True, stopped_by="answer", citations=[VERIFIED, UNSUPPORTED]), as_json=False, out=out, err=err, quiet=True)
    assert out.getvalue() == ANSWER + "\n"
    assert err.getvalue() == "rlm: unsupported citation b.py:99: no file b.py in the input\n"  # flagged even when quiet


def test_sources_render_in_a_fixed_width_console() -> None:
    from rlm_cli.render.citations import sources

    console = Console(file=io.StringIO(), width=80, color_system=None, record=True)
    console.print(sources([VERIFIED, MOVED, UNSUPPORTED, VERIFIED]))
    assert console.export_text() == (
        "Sources\n"
        "  ✓ src/a.py:3  def f():\\x1b]0;pwned\\x07\n"
        "  ↪ src/a.py:9  x = 1  (cited as src/a.py:2)\n"
        "  ✗ b.py:99  no file b.py in the input\n"
    )
