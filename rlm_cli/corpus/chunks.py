"""Chunk, a str that knows where in the context it came from, and the cutting into chunks.

Standard library only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

Span = tuple[int, int, str]  # (start, end, text) of a piece of the context
Slicer = Callable[[int, int], str]  # text[start:end] of whatever is being cut


class Chunk(str):
    """A piece of the context, usable as a str; also knows where it came from.

    Each chunk is exactly context[chunk.start:chunk.end]; `.path` is the first document it
    touches, `.paths` all of them, `.number` its position in the list (str methods such as
    .index() work as on any str); `.cite` is its citation (`path:first-last`, `path#page=N`).
    """

    number: int
    start: int
    end: int
    path: str
    paths: tuple[str, ...]
    cite: str

    def __new__(cls, text: str, *, number: int, start: int, end: int, paths: tuple[str, ...], cite: str = "") -> Chunk:
        chunk = super().__new__(cls, text)
        chunk.number, chunk.start, chunk.end = number, start, end
        chunk.paths, chunk.cite = paths, cite
        chunk.path = paths[0] if paths else ""
        return chunk

    @property
    def text(self) -> str:
        """The chunk as a plain str."""
        return str.__str__(self)

    def __repr__(self) -> str:
        more = f" (+{len(self.paths) - 1} more files)" if len(self.paths) > 1 else ""
        return f"<Chunk {self.number}: {self.path}{more}, context[{self.start}:{self.end}], {len(self):,} chars>"


def line_spans(read: Slicer, start: int, end: int, max_chars: int, overlap: int) -> Iterator[Span]:
    """Pieces of [start:end], each at most max_chars, cut after a newline."""
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    if not 0 <= overlap < max_chars:
        raise ValueError("overlap must be at least 0 and less than max_chars")
    at = start
    while at < end:
        window = read(at, min(end, at + max_chars))
        cut = len(window)
        if at + cut < end and (newline := window.rfind("\n")) != -1:
            cut = newline + 1
        yield at, at + cut, window[:cut]
        if at + cut >= end:
            return
        step_back = overlap
        if overlap:
            # Repeat whole lines where possible: start the overlap just after a newline.
            newline = window.find("\n", cut - overlap, cut - 1)
            step_back = cut - newline - 1 if newline != -1 else overlap
        at = max(at + cut - step_back, at + 1)


def file_spans(read: Slicer, starts: list[int], length: int, max_chars: int, overlap: int) -> Iterator[Span]:
    """Whole documents (starting at `starts`) packed into pieces; an oversized one cut by lines."""
    bounds = [*starts, length + 1]  # +1: the last document has no separator
    group: tuple[int, int] | None = None
    for number in range(len(starts)):
        low, high = bounds[number], min(bounds[number + 1], length)
        if high - low > max_chars:
            if group:
                yield group[0], group[1], read(*group)
                group = None
            yield from line_spans(read, low, high, max_chars, overlap)
        elif group and high - group[0] > max_chars:
            yield group[0], group[1], read(*group)
            group = (low, high)
        else:
            group = (group[0] if group else low, high)
    if group:
        yield group[0], group[1], read(*group)
