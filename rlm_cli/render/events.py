"""`rlm ask --events`: each event of a run as one JSON line on stdout, as it happens.

A line is the event as the trace records it (same names, fields, cuts and redaction) tagged with
`"schema": EVENTS_SCHEMA`; the stream then ends with the `--json` object (`print_result`).
"""

from __future__ import annotations

import json
import sys
import threading
from typing import TextIO

from rlm_cli.events import Event
from rlm_cli.render import Renderer
from rlm_cli.result import RunResult
from rlm_cli.trace import Redactor, trace_dict

EVENTS_SCHEMA = 1


class EventStream:
    """Writes every event to `out` (stdout) as a JSON line, then passes it on to `inner`."""

    def __init__(self, inner: Renderer, out: TextIO | None = None) -> None:
        self.inner = inner
        self.out = sys.stdout if out is None else out
        self._lock = threading.Lock()
        self._redact: Redactor | None = None  # made at the first event: a run loads .env keys first
        self._reader_left = False

    def handle(self, event: Event) -> None:
        """Write the event's line and flush it."""
        with self._lock:
            if self._redact is None:
                self._redact = Redactor()
            data = trace_dict(event)
            line = json.dumps({"event": data["event"], "schema": EVENTS_SCHEMA} | data, ensure_ascii=False)
            if not self._reader_left:
                try:
                    self.out.write(self._redact(line) + "\n")
                    self.out.flush()
                except BrokenPipeError:  # the reader left; the run goes on, its result is still kept
                    self._reader_left = True
        self.inner.handle(event)

    def close(self, result: RunResult) -> None:
        """Close the inner renderer; the final object is printed with the result."""
        self.inner.close(result)
