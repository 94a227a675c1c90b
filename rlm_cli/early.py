"""The `rlm` entry point: on a terminal, `rlm: starting …` before the command line loads.

Loading Typer and Rich takes about 0.3 s; an `rlm ask` whose progress a terminal will show gets
its first line at once, decided from the words and the environment alone, then the real command
line runs. Its status line takes the early one over, and anything written before that erases it
first (`status.erase_early`). Standard library only, and no `typing`: benchmarks/startup.py
measures how soon the line appears.
"""

from __future__ import annotations

import os
import sys

from rlm_cli import status

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

SILENT_FLAGS = frozenset({"--quiet", "--json", "--events", "--estimate", "--help", "--version", "--progress=none"})
SILENT_SHORT = frozenset("qh")  # -q, -h, also in a cluster such as -vq
VALUE_SHORT = frozenset("mo")  # -m MODEL, -o KEY VALUE: the rest of the cluster is a value


def shows_progress(args: Sequence[str], environ: Mapping[str, str], on_terminal: bool) -> bool:
    """Whether these words make an `rlm ask` whose progress a terminal will show.

    In doubt, no: the line is only a courtesy, and the real command line decides the rest.
    """
    if not on_terminal or environ.get("TERM") == "dumb" or "_RLM_COMPLETE" in environ:
        return False
    if environ.get("RLM_PROGRESS", "").strip().lower() == "none":
        return False
    words = iter(args)
    if _command(words) != "ask":
        return False
    for word in words:
        if word == "--":
            break
        if word in SILENT_FLAGS or (word == "--progress" and next(words, None) == "none"):
            return False
        if word.startswith("-") and not word.startswith("--"):
            for letter in word[1:]:
                if letter in SILENT_SHORT:
                    return False
                if letter in VALUE_SHORT:
                    break
    return True


def _command(words: Iterator[str]) -> str | None:
    return next((word for word in words if word != "--debug"), None)


def main() -> None:
    """Console-script entry point: the early line where it belongs, then a warm process's child
    (rlm_cli.warm) or the command line here."""
    args = sys.argv[1:]
    early = shows_progress(args, os.environ, os.isatty(2))
    if early:
        status.show_early(sys.stderr, "starting")
    if _command(iter(args)) == "ask":
        from rlm_cli.uptime import process_started
        from rlm_cli.warm import client

        if client.enabled(os.environ):
            code = client.hand_off(args, early=early, started=process_started())
            if code is not None:
                sys.exit(code)
    try:
        from rlm_cli.cli import main as command_line
    except KeyboardInterrupt:  # Ctrl-C while Typer loads: the traceback starts on a clean line
        status.erase_early()
        raise
    command_line()
