"""Lazy line sequences: `lines()`, and on mapped text `splitlines()` and `split("\\n")`, without a list.

len, indexing, slicing and iteration read only what they need from the file (or the str): a
small index of newline counts (one number per 64 KiB, built on first len or index) finds any
line. Standard library only.
"""

from __future__ import annotations

import bisect
import itertools
from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import AnyStr, Generic, overload

from rlm_cli.corpus.scan import WINDOW, Source, TextSource

_STRIDE = 64 * 1024  # bytes per entry of the newline index


class SplitText(Sequence[str], Generic[AnyStr]):
    """text.split("\\n") of [start:end) of a source (a file's bytes, or a str), decoded line by line."""

    def __init__(self, source: Source[AnyStr], start: int, end: int, newline: AnyStr, decode: Callable[[AnyStr], str]) -> None:
        self._source: Source[AnyStr] = source
        self._start, self._end = start, end
        self._newline: AnyStr = newline
        self._decode_text: Callable[[AnyStr], str] = decode
        self._index: array[int] | None = None  # newlines before each stride, then the total

    def _counts(self) -> array[int]:
        if self._index is None:
            counts, total = array("q"), 0
            at = self._start
            while at < self._end:
                data = self._source.read(at, min(self._end, at + WINDOW))
                for low in range(0, len(data), _STRIDE):
                    counts.append(total)
                    total += data.count(self._newline, low, low + _STRIDE)
                at += len(data)
            counts.append(total)
            self._index = counts  # one assignment: concurrent readers see none or all of it
        return self._index

    def __len__(self) -> int:
        return self._counts()[-1] + 1

    def _line_start(self, number: int) -> int:
        """Byte offset where line `number` starts (just after newline `number`, counting from 1)."""
        if number == 0:
            return self._start
        counts = self._counts()
        stride = bisect.bisect_left(counts, number, 0, len(counts) - 1) - 1
        at, seen = self._start + stride * _STRIDE, counts[stride]
        data = self._source.read(at, min(self._end, at + _STRIDE))
        position = -1
        for _ in range(number - seen):
            position = data.find(self._newline, position + 1)
        return at + position + 1

    def _line_end(self, start: int) -> int:
        end = self._source.find(self._newline, start, self._end)
        return self._end if end == -1 else end

    def _decode(self, start: int, end: int) -> str:
        return self._decode_text(self._source.read(start, end))

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            numbers = range(len(self))[index]
            if numbers.step != 1 or not numbers:
                return [self[number] for number in numbers]
            start = self._line_start(numbers.start)
            last = self._line_start(numbers.stop - 1)
            return self._decode(start, self._line_end(last)).split("\n")
        number = range(len(self))[index]  # IndexError as a list gives it
        start = self._line_start(number)
        return self._decode(start, self._line_end(start))

    def __iter__(self) -> Iterator[str]:
        return self.iter_from(0)

    def iter_from(self, number: int) -> Iterator[str]:
        """The lines from line `number` on, read a window at a time."""
        at, carry = self._line_start(number), self._newline[:0]
        while at < self._end:
            data = carry + self._source.read(at, min(self._end, at + WINDOW))
            at += len(data) - len(carry)
            cut = data.rfind(self._newline) + 1
            if cut:
                yield from self._decode_text(data[: cut - 1]).split("\n")
            carry = data[cut:]
        yield self._decode_text(carry)


def text_lines(text: str, start: int, end: int) -> SplitText[str]:
    """text[start:end].split("\\n") of a str in memory, as a lazy sequence."""
    return SplitText(TextSource(text), start, end, "\n", str)


def byte_lines(source: Source[bytes], start: int, end: int, encoding: str) -> SplitText[bytes]:
    """The bytes [start:end) of a file in `encoding`, split at b"\\n" and decoded line by line."""
    return SplitText(source, start, end, b"\n", lambda data: data.decode(encoding, errors="replace"))


class Lines(Sequence[str]):
    """The lines of a text made of parts (each part's split("\\n") elements, joined end to start
    of the next part as headers and documents are), as splitlines() or split("\\n") gives them.

    `splitlines`: a final empty element is dropped and a line's trailing "\\r" removed (lines are
    split at "\\n" and "\\r\\n" only); `keepends` keeps each line's end.
    """

    def __init__(self, parts: Sequence[Sequence[str]], *, splitlines: bool, keepends: bool = False) -> None:
        self._parts = [part for part in parts if len(part)]
        self._splitlines, self._keepends = splitlines, keepends
        self._starts = list(itertools.accumulate((len(part) for part in self._parts), initial=0))
        self._length: int | None = None

    def __len__(self) -> int:
        if self._length is None:
            total = self._starts[-1]
            if self._splitlines and total and self._raw(total - 1) == "":
                total -= 1
            self._length = total
        return self._length

    def _raw(self, number: int) -> str:
        part = bisect.bisect_right(self._starts, number) - 1
        return self._parts[part][number - self._starts[part]]

    def _shown(self, raw: str, last: bool) -> str:
        if not self._splitlines:
            return raw
        if self._keepends:
            return raw if last else raw + "\n"
        return raw.removesuffix("\r")

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        length = len(self)
        if isinstance(index, slice):
            numbers = range(length)[index]
            if numbers.step != 1 or not numbers:
                return [self[number] for number in numbers]
            return list(itertools.islice(self._from(numbers.start), len(numbers)))
        number = range(length)[index]
        return self._shown(self._raw(number), number == self._starts[-1] - 1)

    def _from(self, number: int) -> Iterator[str]:
        """The lines from `number` on, reading each part's lines in one pass."""
        total = self._starts[-1]
        part = bisect.bisect_right(self._starts, number) - 1
        for index in range(part, len(self._parts)):
            lines = self._parts[index]
            skip = number - self._starts[index] if index == part else 0
            first = self._starts[index] + skip
            selected = lines.iter_from(skip) if isinstance(lines, SplitText) else itertools.islice(lines, skip, None)
            for offset, raw in enumerate(selected):
                at = first + offset
                if self._splitlines and at == total - 1 and raw == "":
                    return
                yield self._shown(raw, at == total - 1)

    def __iter__(self) -> Iterator[str]:
        return self._from(0)

    def __repr__(self) -> str:
        return f"<lazy lines: {len(self):,} lines, read from the file when used; index, slice or iterate>"
