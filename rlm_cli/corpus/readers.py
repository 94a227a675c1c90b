"""Where a document's text comes from: read whole (and cached), or memory-mapped in blocks.

Offsets count characters either way. Safe to read from many threads at once: shared state is
changed under a lock or replaced whole, never edited in place. Standard library only.
"""

from __future__ import annotations

import bisect
import codecs
import mmap
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator

from rlm_cli.corpus.lines import SplitText, byte_lines
from rlm_cli.corpus.scan import WINDOW, Scanner, byte_exact, byte_scanner

BLOCK = 16 * 1024 * 1024  # bytes per scan block of a mapped document
_BUFFERED_BLOCK = 1024 * 1024  # per block read with pread (the host's view: a few are held at once)
_NEWLINE_REACH = 1024 * 1024  # how far past a block's nominal end to look for a newline
_CACHE_CHARS = 256 * 1024 * 1024  # decoded text kept across documents
_PIECE = 4 * 1024 * 1024  # characters per piece when streaming a loaded document
_MAP_FROM = 1024 * 1024  # bytes from which a file read whole is decoded from a mapping
_CONTINUATION = bytes(range(0x80, 0xC0))  # bytes inside a UTF-8 sequence


class TextCache:
    """Decoded texts of loaded documents, least recently used out first, bounded in characters."""

    def __init__(self, budget: int | None = None) -> None:
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._chars = 0
        self._budget = _CACHE_CHARS if budget is None else budget
        self._lock = threading.Lock()

    def get(self, key: str, load: Callable[[], str]) -> str:
        """The cached text for `key`, loading (and maybe evicting) when absent."""
        with self._lock:
            text = self._texts.get(key)
            if text is not None:
                self._texts.move_to_end(key)
                return text
        text = load()  # outside the lock: two threads may load the same text, neither waits
        if len(text) <= self._budget:
            with self._lock:
                if key not in self._texts:
                    self._texts[key] = text
                    self._chars += len(text)
                while self._chars > self._budget:
                    self._chars -= len(self._texts.popitem(last=False)[1])
        return text


class InputChanged(OSError):
    """An input file no longer holds the bytes ingested from it (truncated or replaced meanwhile)."""

    def __init__(self, file: str, now: int, was: int) -> None:
        super().__init__(f"the input changed during the run: {file} is now {now:,} bytes, was {was:,}")


class LoadedReader:
    """A document read whole on first use; its length comes from the manifest.

    `end`: the bytes ingested (reads stop there, so a file appended meanwhile keeps its length);
    `buffered`: read into a buffer, never through a memory map (see read_text).
    """

    def __init__(
        self, file: str, encoding: str, length: int | None, cache: TextCache, wrap: Callable[[str], str] = str,
        *, end: int | None = None, buffered: bool = False,
    ) -> None:
        self._file, self._encoding, self._cache, self._wrap = file, encoding, cache, wrap
        self._length, self._end, self._buffered = length, end, buffered

    @property
    def length(self) -> int:
        if self._length is None:
            self._length = len(self.text())
        return self._length

    @property
    def known_length(self) -> int | None:
        """The length when the manifest gave it or the text was read, else None."""
        return self._length

    def text(self) -> str:
        return self._cache.get(self._file, self._read)

    def _read(self) -> str:
        return self._wrap(read_text(self._file, self._encoding, self._end, buffered=self._buffered))

    def slice(self, start: int, end: int) -> str:
        return self.text()[start:end]

    def head(self, max_chars: int) -> str:
        """The first max_chars characters, read from the file's start: a preview never loads it whole."""
        with open(self._file, "rb") as handle:
            limit = 4 * max_chars if self._end is None else min(self._end, 4 * max_chars)
            return handle.read(limit).decode(self._encoding, errors="replace")[:max_chars]

    def pieces(self, start: int, end: int) -> Iterator[str]:
        text = self.text()
        for at in range(start, end, _PIECE):
            yield text[at : min(end, at + _PIECE)]

    def line_pieces(self) -> Iterator[tuple[int, str]]:
        yield 0, self.text()


def read_text(file: str, encoding: str, end: int | None = None, *, buffered: bool = False) -> str:
    """A whole file decoded (bad bytes as U+FFFD); with `end`, its first `end` bytes, which must be there.

    A large file is decoded straight from a mapping of the page cache: no bytes object is
    allocated and filled first, which halves the time and keeps the peak at the text's size.
    `buffered` never maps: a file truncated while mapped raises SIGBUS, which the host must not risk.
    """
    with open(file, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if buffered or size < _MAP_FROM:  # also /proc files, which report 0
            data = handle.read(-1 if end is None else end)
            if end is not None and len(data) < end:
                raise InputChanged(file, len(data), end)
            return data.decode(encoding, errors="replace")
        if end is not None and size < end:
            raise InputChanged(file, size, end)
        with mmap.mmap(handle.fileno(), size if end is None else end, access=mmap.ACCESS_READ) as mapping:
            return str(mapping, encoding, "replace")


def text_pieces(file: str, encoding: str, end: int | None = None, *, block: int = _BUFFERED_BLOCK) -> Iterator[str]:
    """A file decoded a block at a time (bad bytes as U+FFFD): "".join of the pieces is read_text's text."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    with open(file, "rb") as handle:
        read = 0
        while data := handle.read(block if end is None else min(block, end - read)):
            read += len(data)
            yield decoder.decode(data)
        if end is not None and read < end:
            raise InputChanged(file, read, end)
        if tail := decoder.decode(b"", final=True):
            yield tail


class MappedBytes:
    """A file's bytes through a memory map, bounded at `end`; the size is checked before each access.

    Touching a mapped page past the end of a truncated file raises SIGBUS: the check turns a
    truncation seen before the access into InputChanged (one in the instant between is not caught).
    """

    def __init__(self, file: str, end: int) -> None:
        self._file, self._end = file, end
        with open(file, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size < end:
                raise InputChanged(file, size, end)
            self._map = mmap.mmap(handle.fileno(), end, access=mmap.ACCESS_READ)

    def _check(self) -> None:
        size = self._map.size()  # the file's current size, not the mapping's
        if size < self._end:
            raise InputChanged(self._file, size, self._end)

    def read(self, start: int, end: int) -> bytes:
        self._check()
        data = self._map[start:end]
        self._drop(start, end)
        return data

    def find(self, sub: bytes, start: int, end: int) -> int:
        """Where `sub` first starts in [start:end], or -1; searched in place, a window at a time."""
        self._check()
        while start < end:
            stop = min(end, start + WINDOW)
            found = self._map.find(sub, start, min(end, stop + len(sub) - 1))
            self._drop(start, stop)
            if found != -1:
                return found
            start = stop
        return -1

    def rfind(self, sub: bytes, start: int, end: int) -> int:
        """Where `sub` last starts in [start:end], or -1."""
        self._check()
        return self._map.rfind(sub, start, end)

    def count(self, sub: bytes, start: int, end: int) -> int:
        """Occurrences of `sub` in [start:end] (a range of a window or so: it is read whole)."""
        return self.read(start, end).count(sub)

    def _drop(self, start: int, end: int) -> None:
        """Drop mapped pages from this process's RSS once searched (the page cache keeps them)."""
        if hasattr(mmap, "MADV_DONTNEED") and end > start:
            aligned = start - start % mmap.PAGESIZE
            self._map.madvise(mmap.MADV_DONTNEED, aligned, end - aligned)


class BufferedBytes:
    """A file's bytes read with pread into buffers, bounded at `end`: a truncated file gives InputChanged, never SIGBUS."""

    def __init__(self, file: str, end: int) -> None:
        self._file, self._end = file, end
        self._fd = os.open(file, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)

    def read(self, start: int, end: int) -> bytes:
        data = os.pread(self._fd, end - start, start)
        if len(data) < end - start:
            raise InputChanged(self._file, os.fstat(self._fd).st_size, self._end)
        return data

    def find(self, sub: bytes, start: int, end: int) -> int:
        """Where `sub` first starts in [start:end], or -1; read a window at a time."""
        while start < end:
            stop = min(end, start + WINDOW)
            found = self.read(start, min(end, stop + len(sub) - 1)).find(sub)
            if found != -1:
                return start + found
            start = stop
        return -1

    def count(self, sub: bytes, start: int, end: int) -> int:
        """Occurrences of `sub` in [start:end] (a range of a window or so: it is read whole)."""
        return self.read(start, end).count(sub)

    def rfind(self, sub: bytes, start: int, end: int) -> int:
        """Where `sub` last starts in [start:end], or -1; read backwards, a growing step at a time."""
        step = 64 * 1024
        while True:
            low = max(start, end - step)
            found = self.read(low, end).rfind(sub)
            if found != -1:
                return low + found
            if low == start:
                return -1
            end, step = low + len(sub) - 1, min(step * 2, WINDOW)


Block = tuple[int, int, int, int]  # byte start, byte end, first character, characters


class MappedReader:
    """A memory-mapped document, decoded block by block; offsets still count characters.

    The first operation that needs positions scans the file once and keeps a small block index
    (byte start, byte end, first character, characters) so later slices decode one block at most.
    The index and the last decoded block are replaced whole, so concurrent readers stay correct.
    Bytes come from a map (MappedBytes) or, when `buffered`, from pread (BufferedBytes, in
    smaller blocks: the host holds several pieces of a block at once while it checks); reads
    stop at `end`, the size at ingest, so a file appended meanwhile keeps its length.
    """

    def __init__(self, file: str, encoding: str, offset: int, end: int, *, buffered: bool = False) -> None:
        self._file, self._encoding = file, encoding
        self._offset, self._end = offset, end
        self._buffered = buffered
        self._block = _BUFFERED_BLOCK if buffered else BLOCK
        self._source: MappedBytes | BufferedBytes | None = None
        self._source_lock = threading.Lock()
        self._index_built: tuple[list[Block], list[int]] | None = None  # blocks, their first characters
        self._last: tuple[int, str] = (-1, "")
        self._newline_counts: dict[int, int] = {}  # newlines per scan window, counted on first need

    def _bytes(self) -> MappedBytes | BufferedBytes:
        if self._source is None:
            with self._source_lock:
                if self._source is None:
                    self._source = (BufferedBytes if self._buffered else MappedBytes)(self._file, self._end)
        return self._source

    def _cut(self, start: int) -> int:
        """End of the block that starts at `start`: just past a newline when one is near."""
        end = start + self._block
        if end >= self._end:
            return self._end
        newline = self._bytes().find(b"\n", end, min(self._end, end + _NEWLINE_REACH))
        if newline != -1:
            return newline + 1
        following = self._bytes().read(end, min(self._end, end + 4))
        return end + len(following) - len(following.lstrip(_CONTINUATION))  # not inside a UTF-8 sequence

    def line_pieces(self) -> Iterator[tuple[int, str]]:
        if self._index_built is not None:
            for number, block in enumerate(self._index_built[0]):
                yield block[2], self._block_text(number, block)
            return
        blocks: list[Block] = []
        start, chars = self._offset, 0
        while start < self._end:
            end = self._cut(start)
            text = self._decode(start, end)
            blocks.append((start, end, chars, len(text)))
            yield chars, text
            chars += len(text)
            start = end
        # Published in one assignment: a concurrent reader sees no index or a whole one.
        self._index_built = blocks, [block[2] for block in blocks]

    def _index(self) -> tuple[list[Block], list[int]]:
        """The block index; built without decoding blocks whose characters are one byte each."""
        if self._index_built is None:
            single = byte_exact(self._encoding) and codecs.lookup(self._encoding).name != "utf-8"
            blocks: list[Block] = []
            start, chars = self._offset, 0
            while start < self._end:
                end = self._cut(start)
                data = self._bytes().read(start, end)
                count = len(data) if single or data.isascii() else len(data.decode(self._encoding, errors="replace"))
                blocks.append((start, end, chars, count))
                chars += count
                start = end
            self._index_built = blocks, [block[2] for block in blocks]
        return self._index_built

    def scanner(self) -> Scanner[bytes] | None:
        """Byte scans of this document, when its encoding lets bytes answer exactly; else None."""
        if not byte_exact(self._encoding):
            return None
        return byte_scanner(self._bytes(), self._offset, self._end, self._encoding, self._newline_counts)

    def split_lines(self) -> SplitText[bytes] | None:
        """The document's split("\\n") read lazily from its bytes, when its encoding allows; else None."""
        if not byte_exact(self._encoding):
            return None
        return byte_lines(self._bytes(), self._offset, self._end, self._encoding)

    def char_offset(self, position: int) -> int:
        """The character offset of byte `position` (which starts a character)."""
        blocks, _ = self._index()
        number = max(0, bisect.bisect_right([block[0] for block in blocks], position) - 1)
        start, _end, first, _count = blocks[number]
        return first + len(self._bytes().read(start, position).decode(self._encoding, errors="replace"))

    def _decode(self, start: int, end: int) -> str:
        return self._bytes().read(start, end).decode(self._encoding, errors="replace")

    def _block_text(self, number: int, block: Block) -> str:
        last = self._last  # read once: another thread may replace it meanwhile
        if last[0] != number:
            last = (number, self._decode(block[0], block[1]))
            self._last = last
        return last[1]

    @property
    def length(self) -> int:
        blocks = self._index()[0]
        return blocks[-1][2] + blocks[-1][3] if blocks else 0

    @property
    def known_length(self) -> int | None:
        """The length once a scan has counted it, else None."""
        return self.length if self._index_built is not None else None

    def pieces(self, start: int, end: int) -> Iterator[str]:
        blocks, starts = self._index()
        number = max(0, bisect.bisect_right(starts, start) - 1)
        while number < len(blocks) and blocks[number][2] < end:
            byte_start, byte_end, first, count = blocks[number]
            low, high = max(start, first) - first, min(end, first + count) - first
            if count == byte_end - byte_start:  # one byte per character: slice the mapping
                data = self._bytes().read(byte_start + low, byte_start + high)
                yield data.decode(self._encoding, errors="replace")
            else:
                yield self._block_text(number, blocks[number])[low:high]
            number += 1

    def slice(self, start: int, end: int) -> str:
        return "".join(self.pieces(start, end))

    def head(self, max_chars: int) -> str:
        """The first max_chars characters; before a scan, decoded straight from the mapping."""
        if self._index_built is None:
            raw = self._bytes().read(self._offset, min(self._end, self._offset + 4 * max_chars))
            return raw.decode(self._encoding, errors="replace")[:max_chars]
        return self.slice(0, max_chars)

    def text(self) -> str:
        return self.slice(0, self.length)
