"""Capped text streams standing in for sys.stdout and sys.stderr while a cell runs.

Keeps the head and the tail within a hard cap and counts the rest, so a cell printing a
gigabyte costs a few megabytes. Standard library only (runs in the worker).
"""

from __future__ import annotations

import io

from rlm_cli.units import cut_marker


class CappedText(io.TextIOBase):
    """A write-only text stream keeping at most `limit` characters: half head, half tail."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self._half = max(limit // 2, 1)
        self._head: list[str] = []
        self._head_len = 0
        self._tail: list[str] = []
        self._tail_len = 0
        self.total = 0

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        written = len(text)
        self.total += written
        room = self._half - self._head_len
        if room > 0:
            self._head.append(text[:room])
            self._head_len += min(room, len(text))
            text = text[room:]
        if text:
            self._tail.append(text)
            self._tail_len += len(text)
            if self._tail_len > 2 * self._half:  # trim now and then, not on every write
                kept = "".join(self._tail)[-self._half :]
                self._tail, self._tail_len = [kept], len(kept)
        return written

    def getvalue(self) -> str:
        """What was written, with the middle replaced by a marker if the cap was reached."""
        head = "".join(self._head)
        tail = "".join(self._tail)
        if self.total == len(head) + len(tail):
            return head + tail
        tail = tail[-self._half :]
        return head + cut_marker(self.total, self.total - len(head) - len(tail)) + tail
