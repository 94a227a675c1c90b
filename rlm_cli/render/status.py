"""The one line a terminal shows before a run's first event: what is being read, then the model.

Written with plain escape codes, before Rich is imported, so it appears at once; it is erased
when the first event reaches the renderer. Nothing is written off a terminal, with -q or
`--progress none`.
"""

from __future__ import annotations

import os
import threading
from typing import TextIO

from rlm_cli.events import Emit, Event

ERASE = "\r\x1b[2K"


class Status:
    """A transient status line on a terminal (a plain line on TERM=dumb); silent elsewhere."""

    def __init__(self, stream: TextIO | None, *, transient: bool = True) -> None:
        self.stream = stream
        self.transient = transient
        self._lock = threading.Lock()
        self._shown = False

    @classmethod
    def on_terminal(cls, stream: TextIO, progress: str, *, quiet: bool) -> Status:
        """Shown only where someone is watching: a terminal, progress on."""
        watched = not quiet and progress != "none" and stream.isatty()
        return cls(stream if watched else None, transient=os.environ.get("TERM") != "dumb")

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
