"""The end of a run: the answer (or the `--json` object) on stdout, status and summary on stderr.

stdout carries exactly the answer's text when piped, so pipelines can trust it.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, TextIO

from rlm_cli.render import fmt
from rlm_cli.result import RunResult
from rlm_cli.termsafe import visible


def print_result(
    result: RunResult,
    *,
    as_json: bool,
    quiet: bool = False,
    raw: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> None:
    """Print the answer or JSON on `out` (stdout), then the error, partial mark and summary on `err`.

    The error line is printed even when quiet; the partial mark and summary only when not.
    `raw`: the answer's text as it is on a terminal too, not rendered as Markdown.
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    if as_json:
        out.write(json.dumps(result.to_json_dict(), ensure_ascii=False) + "\n")
    elif result.answer:
        _print_answer(result.answer, out, result.citations, raw=raw)
    out.flush()
    if not as_json and result.citations:  # flagged on stderr, never dropped (quiet or not)
        from rlm_cli.render.citations import notes

        err.write(notes(result.citations))
    if result.error:
        kind = "" if result.stopped_by == "interrupt" else "error: "  # Ctrl-C, SIGTERM, SIGHUP
        err.write(f"rlm: {kind}{visible(result.error)}\n")
        if result.hint:
            err.write(f"hint: {visible(result.hint)}\n")
    started = result.iterations > 0 or result.stopped_by != "error"
    if not quiet and started:  # a run refused before its first turn has nothing to sum up
        lines = status_lines(result)
        if err.isatty():  # broken between its parts, never mid-word
            lines = "\n".join(fmt.wrap_at_dots(line, _width(err)) for line in lines.splitlines()) + "\n"
        err.write(visible(lines))
    err.flush()


def status_lines(result: RunResult) -> str:
    """The partial-answer mark (when the answer is not ready) and the summary line."""
    lines = ""
    if not result.ready and result.stopped_by != "error":
        what = "partial answer" if result.answer else "no answer"
        lines += f"rlm: {what}: stopped by {result.stopped_by} before the answer was ready\n"
    return lines + summary_line(result) + "\n"


def summary_line(result: RunResult) -> str:
    """`rlm: 3 turns · 41 sub-calls · 12.3s · root ... · sub ... · total $0.0468`."""
    served = fmt.deployments(result.usage)
    return (
        f"rlm: {result.iterations} turns · {result.sub_calls} sub-calls · "
        f"{fmt.duration(result.elapsed_s)} · {fmt.usage_line(result.usage)}" + (f" · {served}" if served else "")
    )


def _width(stream: TextIO) -> int:
    """The terminal's columns: COLUMNS, else what the terminal says (when it says), else 80."""
    if os.environ.get("COLUMNS", "").isdigit() and int(os.environ["COLUMNS"]) > 0:
        return int(os.environ["COLUMNS"])
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (OSError, ValueError, AttributeError):
        return 80


def _print_answer(answer: str, out: TextIO, citations: list[dict[str, Any]], *, raw: bool) -> None:
    text = answer if answer.endswith("\n") else answer + "\n"
    if not out.isatty():
        out.write(text)
        return
    if raw:  # still shown, not passed through: control characters made visible
        out.write(visible(text))
        return
    from rich.console import Console

    from rlm_cli.render.citations import linked_markdown, sources
    from rlm_cli.render.consoles import no_color

    # On a terminal the answer is shown, not passed through: its control characters are made visible.
    console = Console(file=out, no_color=no_color(), highlight=False)
    console.print(linked_markdown(visible(answer), citations))
    if citations:
        console.print()
        console.print(sources(citations))
