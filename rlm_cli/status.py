"""The one line a terminal shows before a run's first event: starting, what is being read, then the model.

Written with plain escape codes, before Rich is imported, so it appears at once; it is erased
when the first event reaches the renderer, and before anything else is written. Nothing is
written off a terminal, with -q or `--progress none`. Standard library only, and not even
`typing`: `rlm_cli.early` shows the first line through it before the command line loads.
"""

from __future__ import annotations

import _thread
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from rlm_cli.events import Emit, Event

ERASE = "\r\x1b[2K"


class Status:
    """A transient status line on a terminal (a plain line on TERM=dumb); silent elsewhere."""

    def __init__(self, stream: TextIO | None, *, transient: bool = True) -> None:
        self.stream = stream
        self.transient = transient
        self._lock = _thread.allocate_lock()
        self._shown = False

    @classmethod
    def on_terminal(cls, stream: TextIO, progress: str, *, quiet: bool) -> Status:
        """Shown only where someone is watching: a terminal, progress on. It takes over the early line."""
        global _early
        watched = not quiet and progress != "none" and stream.isatty()
        status = cls(stream if watched else None, transient=os.environ.get("TERM") != "dumb")
        early, _early = _early, None
        if early is not None and watched and early.stream is stream and status.transient:
            status._shown = True  # its next line replaces the early one in place
        elif early is not None:
            early.clear()
        return status

    def show(self, text: str) -> None:
        """Replace the line with `text` (until the first event)."""
        with self._lock:
            if self.stream is None:
                return
            self.stream.write(f"{ERASE}rlm: {text} …" if self.transient else f"rlm: {text} …\n")
            self.stream.flush()
            self._shown = True

    def clear(self) -> None:
        """Erase the line; nothing more is shown."""
        with self._lock:
            if self.stream is not None and self._shown and self.transient:
                self.stream.write(ERASE)
                self.stream.flush()
            self.stream = None

    def after(self, emit: Emit) -> Emit:
        """`emit`, the status erased before the first event passes."""

        def forward(event: Event) -> None:
            if self.stream is not None:
                self.clear()
            emit(event)

        return forward


_early: Status | None = None  # the line shown before the command line loaded, until taken over


def show_early(stream: TextIO, text: str) -> None:
    """Show the first line at once; `Status.on_terminal` takes it over, `erase_early` removes it."""
    global _early
    _early = Status(stream)
    _early.show(text)


def adopt_early(stream: TextIO) -> None:
    """The early line another process showed on `stream` (a warm server's caller) is this one's now."""
    global _early
    _early = Status(stream)
    _early._shown = True


def erase_early() -> None:
    """Erase the early line if it is still shown: called before anything else is written."""
    global _early
    early, _early = _early, None
    if early is not None:
        early.clear()
