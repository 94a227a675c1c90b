"""Corpus and Document: the `context` object the REPL exposes, rebuilt from the ingest manifest.

Standard library only: the sandboxed worker imports it. Documents are read lazily from their
files; a document past the mmap threshold is memory-mapped and scanned in blocks, never loaded.
"""

from __future__ import annotations

import bisect
import fnmatch
import json
import mmap
import re
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

MANIFEST_VERSION = 1
MAX_MATCHES = 1000
SMALL_CHARS = 64_000  # ~16K tokens: below this, reading the input whole beats exploring it
BLOCK = 16 * 1024 * 1024  # bytes per scan block of a mapped document
_NEWLINE_REACH = 1024 * 1024  # how far past a block's nominal end to look for a newline
_CACHE_CHARS = 256 * 1024 * 1024  # decoded text kept across documents
_PIECE = 4 * 1024 * 1024  # characters per piece when streaming a loaded document
_SHOWN_LINE = 240  # characters of a matched line a repr shows


class Skipped(NamedTuple):
    """An input left out of the corpus, and why."""

    path: str
    reason: str


@dataclass
class Match:
    """One grep hit: path, 1-based line number, the line (and context lines when asked)."""

    path: str
    line_no: int
    line: str
    column: int = 0
    page: int | None = None
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        where = f"{self.path}:{self.line_no}" + (f" (page {self.page})" if self.page else "")
        first = self.line_no - len(self.before)
        rows = [f"{self.path}-{first + i}- {_clip(text, 0)}" for i, text in enumerate(self.before)]
        rows.append(f"{where}: {_clip(self.line, self.column)}")
        rows += [f"{self.path}-{self.line_no + i + 1}- {_clip(text, 0)}" for i, text in enumerate(self.after)]
        return "\n".join(rows)

    __repr__ = __str__


class GrepResult(list[Match]):
    """The matches of a grep, in corpus order; `truncated` says max_matches stopped it early."""

    def __init__(self, matches: Iterable[Match], *, pattern: str, max_matches: int, truncated: bool) -> None:
        super().__init__(matches)
        self.pattern = pattern
        self.max_matches = max_matches
        self.truncated = truncated

    @property
    def paths(self) -> list[str]:
        """The paths with at least one match, in order."""
        return list(dict.fromkeys(match.path for match in self))

    def __str__(self) -> str:
        if not self:
            return f"(no matches for {self.pattern!r})"
        rows = [str(match) for match in self]
        if self.truncated:
            rows.append(
                f"[stopped at max_matches={self.max_matches}: there are more matches; narrow the "
                "pattern, pass paths=..., or raise max_matches]"
            )
        return "\n".join(rows)

    __repr__ = __str__


class Chunk(str):
    """A piece of the context, usable as a str; also knows where it came from.

    Each chunk is exactly context[chunk.start:chunk.end]; `.path` is the first document it
    touches, `.paths` all of them, `.index` its position in the list.
    """

    index: int
    start: int
    end: int
    path: str
    paths: tuple[str, ...]

    def __new__(cls, text: str, *, index: int, start: int, end: int, paths: tuple[str, ...]) -> Chunk:
        chunk = super().__new__(cls, text)
        chunk.index, chunk.start, chunk.end = index, start, end
        chunk.paths = paths
        chunk.path = paths[0] if paths else ""
        return chunk

    @property
    def text(self) -> str:
        """The chunk as a plain str."""
        return str.__str__(self)

    def __repr__(self) -> str:
        more = f" (+{len(self.paths) - 1} more files)" if len(self.paths) > 1 else ""
        return f"<Chunk {self.index}: {self.path}{more}, context[{self.start}:{self.end}], {len(self):,} chars>"


class _TextCache:
    """Decoded texts of loaded documents, least recently used out first, bounded in characters."""

    def __init__(self, budget: int = _CACHE_CHARS) -> None:
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._chars = 0
        self._budget = budget

    def get(self, key: str, load: Callable[[], str]) -> str:
        """The cached text for `key`, loading (and maybe evicting) when absent."""
        text = self._texts.get(key)
        if text is not None:
            self._texts.move_to_end(key)
            return text
        text = load()
        if len(text) <= self._budget:
            self._texts[key] = text
            self._chars += len(text)
            while self._chars > self._budget:
                self._chars -= len(self._texts.popitem(last=False)[1])
        return text


class _Loaded:
    """A document read whole on first use; its length comes from the manifest."""

    def __init__(self, file: str, encoding: str, length: int | None, cache: _TextCache) -> None:
        self._file, self._encoding, self._cache = file, encoding, cache
        self._length = length

    @property
    def length(self) -> int:
        if self._length is None:
            self._length = len(self.text())
        return self._length

    def text(self) -> str:
        return self._cache.get(self._file, self._read)

    def _read(self) -> str:
        return Path(self._file).read_bytes().decode(self._encoding, errors="replace")

    def slice(self, start: int, end: int) -> str:
        return self.text()[start:end]

    def pieces(self, start: int, end: int) -> Iterator[str]:
        text = self.text()
        for at in range(start, end, _PIECE):
            yield text[at : min(end, at + _PIECE)]

    def line_pieces(self) -> Iterator[tuple[int, str]]:
        yield 0, self.text()


class _Mapped:
    """A memory-mapped document, decoded block by block; offsets still count characters.

    The first operation that needs positions scans the file once and keeps a small block index
    (byte start, byte end, first character, characters) so later slices decode one block at most.
    """

    def __init__(self, file: str, encoding: str, offset: int, size: int) -> None:
        self._file, self._encoding = file, encoding
        self._offset, self._end = offset, size
        self._map: mmap.mmap | None = None
        self._blocks: list[tuple[int, int, int, int]] | None = None
        self._starts: list[int] = []
        self._last: tuple[int, str] = (-1, "")

    def _mapping(self) -> mmap.mmap:
        if self._map is None:
            with open(self._file, "rb") as handle:
                self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        return self._map

    def _release(self, start: int, end: int) -> None:
        # Mapped pages count towards RSS until dropped; the page cache keeps them anyway.
        if hasattr(mmap, "MADV_DONTNEED"):
            aligned = start - start % mmap.PAGESIZE
            self._mapping().madvise(mmap.MADV_DONTNEED, aligned, end - aligned)

    def _cut(self, start: int) -> int:
        """End of the block that starts at `start`: just past a newline when one is near."""
        end = start + BLOCK
        if end >= self._end:
            return self._end
        mapping = self._mapping()
        newline = mapping.find(b"\n", end, min(self._end, end + _NEWLINE_REACH))
        if newline != -1:
            return newline + 1
        while end < self._end and 0x80 <= mapping[end] < 0xC0:  # inside a UTF-8 sequence
            end += 1
        return end

    def line_pieces(self) -> Iterator[tuple[int, str]]:
        if self._blocks is not None:
            for number, block in enumerate(self._blocks):
                yield block[2], self._block_text(number)
            return
        blocks: list[tuple[int, int, int, int]] = []
        start, chars = self._offset, 0
        while start < self._end:
            end = self._cut(start)
            text = self._mapping()[start:end].decode(self._encoding, errors="replace")
            self._release(start, end)
            blocks.append((start, end, chars, len(text)))
            yield chars, text
            chars += len(text)
            start = end
        self._blocks, self._starts = blocks, [block[2] for block in blocks]

    def _index(self) -> list[tuple[int, int, int, int]]:
        if self._blocks is None:
            for _ in self.line_pieces():
                pass
        assert self._blocks is not None
        return self._blocks

    def _block_text(self, number: int) -> str:
        if self._last[0] != number:
            start, end, _, _ = self._index()[number]
            self._last = (number, self._mapping()[start:end].decode(self._encoding, errors="replace"))
            self._release(start, end)
        return self._last[1]

    @property
    def length(self) -> int:
        blocks = self._index()
        return blocks[-1][2] + blocks[-1][3] if blocks else 0

    def pieces(self, start: int, end: int) -> Iterator[str]:
        blocks = self._index()
        number = max(0, bisect.bisect_right(self._starts, start) - 1)
        while number < len(blocks) and blocks[number][2] < end:
            byte_start, byte_end, first, count = blocks[number]
            low, high = max(start, first) - first, min(end, first + count) - first
            if count == byte_end - byte_start:  # one byte per character: slice the mapping
                data = self._mapping()[byte_start + low : byte_start + high]
                self._release(byte_start + low, byte_start + high)
                yield data.decode(self._encoding, errors="replace")
            else:
                yield self._block_text(number)[low:high]
            number += 1

    def slice(self, start: int, end: int) -> str:
        return "".join(self.pieces(start, end))

    def text(self) -> str:
        return self.slice(0, self.length)


class _TextLike:
    """str behaviour over text kept in pieces: len, slicing, `in`, count, find, splitlines.

    Any other str method (split, lower, ...) works on the whole text, which loads it.
    """

    def __len__(self) -> int:
        raise NotImplementedError

    def _pieces(self, start: int, end: int) -> Iterator[str]:
        raise NotImplementedError

    def _slice(self, start: int, end: int) -> str:
        return "".join(self._pieces(start, end))

    @property
    def text(self) -> str:
        """The whole text as one str (loads it)."""
        return self._slice(0, len(self))

    def __str__(self) -> str:
        return self.text

    def __bool__(self) -> bool:
        return len(self) > 0

    def __getitem__(self, key: int | slice) -> str:
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step == 1:
                return self._slice(start, max(start, stop))
            span = range(start, stop, step)
            if not span:
                return ""
            low = min(span[0], span[-1])
            part = self._slice(low, max(span[0], span[-1]) + 1)
            return part[start - low :: step][: len(span)]
        if isinstance(key, int):
            index = key + len(self) if key < 0 else key
            if not 0 <= index < len(self):
                raise IndexError(f"index {key} out of range for length {len(self)}")
            return self._slice(index, index + 1)
        raise TypeError(f"indices must be integers or slices, not {type(key).__name__}")

    def __iter__(self) -> Iterator[str]:
        for piece in self._pieces(0, len(self)):
            yield from piece

    def __contains__(self, sub: object) -> bool:
        if not isinstance(sub, str):
            raise TypeError(f"'in <{type(self).__name__}>' requires a str, not {type(sub).__name__}")
        return self.find(sub) != -1

    def find(self, sub: str, start: int | None = None, end: int | None = None) -> int:
        """Lowest offset where `sub` starts within [start:end], or -1 (as str.find)."""
        start, end, _ = slice(start, end).indices(len(self))
        if not sub:
            return start if start <= end else -1
        keep, carry, carry_at = len(sub) - 1, "", start
        for piece in self._pieces(start, end):
            buffer = carry + piece
            hit = buffer.find(sub)
            if hit != -1:
                return carry_at + hit
            carry = buffer[len(buffer) - keep :] if keep else ""
            carry_at += len(buffer) - len(carry)
        return -1

    def count(self, sub: str, start: int | None = None, end: int | None = None) -> int:
        """Non-overlapping occurrences of `sub` within [start:end] (as str.count)."""
        start, end, _ = slice(start, end).indices(len(self))
        if not sub:
            return end - start + 1 if start <= end else 0
        total, carry, keep = 0, "", len(sub) - 1
        for piece in self._pieces(start, end):
            buffer = carry + piece
            total += buffer.count(sub)
            if keep:
                carry = buffer[_resume_after_count(buffer, sub) :]
        return total

    def splitlines(self, keepends: bool = False) -> list[str]:
        """The lines, as str.splitlines (a list: for huge inputs prefer grep or chunks)."""
        lines: list[str] = []
        carry = ""
        for piece in self._pieces(0, len(self)):
            parts = (carry + piece).splitlines(True)
            # The last part may continue in the next piece (or be "\r" before "\n").
            carry = parts.pop() if parts else ""
            lines.extend(parts if keepends else "".join(parts).splitlines())
        if carry:
            lines.extend([carry] if keepends else carry.splitlines())
        return lines

    def _cuts(self, start: int, end: int, max_chars: int, overlap: int) -> Iterator[tuple[int, int, str]]:
        """(start, end, text) pieces of [start:end], each at most max_chars, cut after a newline."""
        if max_chars < 1:
            raise ValueError("max_chars must be at least 1")
        if not 0 <= overlap < max_chars:
            raise ValueError("overlap must be at least 0 and less than max_chars")
        at = start
        while at < end:
            window = self._slice(at, min(end, at + max_chars))
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

    def __add__(self, other: str) -> str:
        return self.text + other

    def __radd__(self, other: str) -> str:
        return other + self.text

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or not hasattr(str, name):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return getattr(self.text, name)


class Document(_TextLike):
    """One input document, read lazily. Works like a str; also .grep(), .chunks(), .page(n)."""

    def __init__(self, entry: dict[str, Any], cache: _TextCache | None = None) -> None:
        self.path: str = entry["path"]
        self.file: str = entry["file"]
        self.encoding: str = entry.get("encoding") or "utf-8"
        self.size: int = entry.get("size", 0)
        self.kind: str = entry.get("kind", "text")
        self.note: str | None = entry.get("note")
        self.page_starts: list[int] | None = entry.get("pages")
        self.mapped: bool = bool(entry.get("mmap"))
        self._store: _Loaded | _Mapped
        if self.mapped:
            self._store = _Mapped(self.file, self.encoding, entry.get("offset", 0), self.size)
        else:
            self._store = _Loaded(self.file, self.encoding, entry.get("chars"), cache or _TextCache())

    def __len__(self) -> int:
        return self._store.length

    def __bool__(self) -> bool:
        return self.mapped or len(self) > 0

    def _pieces(self, start: int, end: int) -> Iterator[str]:
        return self._store.pieces(start, end)

    def _slice(self, start: int, end: int) -> str:
        return self._store.slice(start, end)

    @property
    def text(self) -> str:
        """The whole document as one str (loads it)."""
        return self._store.text()

    @property
    def known_length(self) -> int | None:
        """The length in characters when known without reading the file (mapped: after a scan)."""
        if isinstance(self._store, _Mapped):
            return self._store.length if self._store._blocks is not None else None
        return self._store._length

    @property
    def page_count(self) -> int:
        """Pages of a PDF (0 for other documents)."""
        return len(self.page_starts or ())

    def page(self, number: int) -> str:
        """The text of page `number` of a PDF, counting from 1."""
        if not self.page_starts:
            raise ValueError(f"{self.path} has no pages (only PDFs do)")
        if not 1 <= number <= len(self.page_starts):
            raise IndexError(f"{self.path} has pages 1 to {len(self.page_starts)}, not {number}")
        ends = [*self.page_starts[1:], len(self)]
        text = self._slice(self.page_starts[number - 1], ends[number - 1])
        return text.split("\n", 1)[1] if text.startswith("--- page ") else text

    @property
    def pages(self) -> list[str]:
        """The text of every PDF page, in order."""
        return [self.page(number) for number in range(1, self.page_count + 1)]

    def grep(
        self, pattern: str | re.Pattern[str], *, ignore_case: bool = False, context_lines: int = 0,
        max_matches: int = MAX_MATCHES,
    ) -> GrepResult:
        """Lines of this document matching a regular expression; see Corpus.grep."""
        regex = _compile(pattern, ignore_case)
        matches, truncated = self._grep(regex, context_lines, max_matches)
        return GrepResult(matches, pattern=regex.pattern, max_matches=max_matches, truncated=truncated)

    def chunks(self, max_chars: int, overlap: int = 0) -> list[Chunk]:
        """This document in pieces of at most max_chars, cut after a newline where possible."""
        return [
            Chunk(text, index=index, start=start, end=end, paths=(self.path,))
            for index, (start, end, text) in enumerate(self._cuts(0, len(self), max_chars, overlap))
        ]

    def head(self, max_chars: int) -> str:
        """The first max_chars characters, without scanning a mapped document."""
        if isinstance(self._store, _Mapped) and self._store._blocks is None:
            raw = self._store._mapping()[self._store._offset : self._store._offset + 4 * max_chars]
            return raw.decode(self.encoding, errors="replace")[:max_chars]
        return self._slice(0, max_chars)

    def _grep(self, regex: re.Pattern[str], context_lines: int, limit: int) -> tuple[list[Match], bool]:
        """Matches (one per line) and whether `limit` stopped the search."""
        matches: list[Match] = []
        waiting: list[Match] = []  # matches still short of after-context lines
        tail: list[str] = []  # the previous piece's last lines, for before-context
        line_no = 1
        for base, piece in self._store.line_pieces():
            if waiting:
                _fill_after(waiting, piece, context_lines)
            position = counted = 0
            while (found := regex.search(piece, position)) is not None:
                hit = found.start()
                if hit == len(piece) and (not piece or piece.endswith("\n")):
                    break  # the empty "line" after a final newline is not a line
                if len(matches) == limit:
                    return matches, True
                line_start = piece.rfind("\n", 0, hit) + 1
                line_end = piece.find("\n", hit)
                line_end = len(piece) if line_end == -1 else line_end
                line_no += piece.count("\n", counted, line_start)
                counted = line_start
                match = Match(
                    self.path, line_no, piece[line_start:line_end].removesuffix("\r"),
                    column=hit - line_start, page=self._page_at(base + line_start),
                )
                if context_lines:
                    match.before = _lines_before(piece, line_start, context_lines, tail)
                    match.after = _lines_after(piece, line_end, context_lines)
                    if len(match.after) < context_lines:
                        waiting.append(match)
                matches.append(match)
                position = line_end + 1
            line_no += piece.count("\n", counted)
            if context_lines:
                tail = piece.rsplit("\n", context_lines + 1)[-context_lines - 1 : -1]
        return matches, False

    def _page_at(self, offset: int) -> int | None:
        return bisect.bisect_right(self.page_starts, offset) if self.page_starts else None

    def __repr__(self) -> str:
        details = [_human(self.size), self.kind, self.encoding]
        if self.page_starts:
            details.append(f"{len(self.page_starts)} pages")
        if self.mapped:
            details.append("memory-mapped")
        return f"<Document {self.path!r}: {', '.join(details)}>"


class Corpus(_TextLike):
    """All input documents as one text: each as `=== path ===` then its text, joined by newlines.

    A single document is its text alone, with no header, so a piped log reads exactly as it is.

    Works like a str: len(context), context[a:b], `x in context`, .count(), .find(),
    .splitlines() (and any other str method, on the whole text). Also: .files, .documents,
    .read(path) / context[path], .grep(pattern), .chunks(max_chars), .describe().
    """

    def __init__(self, documents: Iterable[Document], skipped: Iterable[Skipped] = ()) -> None:
        self.documents: list[Document] = list(documents)
        self.skipped: list[Skipped] = list(skipped)
        self._by_path = {document.path: document for document in self.documents}
        single = len(self.documents) == 1
        self._headers = ["" if single else f"=== {document.path} ===\n" for document in self.documents]
        self._layout: list[int] | None = None

    @classmethod
    def from_manifest(cls, data: dict[str, Any]) -> Corpus:
        """Build a corpus from a manifest already parsed from JSON."""
        if data.get("version") != MANIFEST_VERSION:
            raise ValueError(f"unsupported manifest version {data.get('version')!r}")
        skipped = [Skipped(item["path"], item["reason"]) for item in data.get("skipped", ())]
        return cls.from_entries(data["documents"], skipped)

    @classmethod
    def from_entries(cls, entries: Iterable[dict[str, Any]], skipped: Iterable[Skipped] = ()) -> Corpus:
        """Build a corpus from manifest document entries (sharing one text cache)."""
        cache = _TextCache()
        return cls((Document(entry, cache) for entry in entries), skipped)

    @property
    def files(self) -> list[str]:
        """The path of every document, in order."""
        return [document.path for document in self.documents]

    def _starts(self) -> list[int]:
        """Where each document's header starts in the joined text (reads mapped lengths once)."""
        if self._layout is None:
            starts, at = [], 0
            for header, document in zip(self._headers, self.documents, strict=True):
                starts.append(at)
                at += len(header) + len(document) + 1
            self._layout = starts
        return self._layout

    def __len__(self) -> int:
        if not self.documents:
            return 0
        return self._starts()[-1] + len(self._headers[-1]) + len(self.documents[-1])

    def __bool__(self) -> bool:
        return bool(self.documents)

    def _pieces(self, start: int, end: int) -> Iterator[str]:
        starts = self._starts()
        number = max(0, bisect.bisect_right(starts, start) - 1)
        while number < len(starts) and starts[number] < end:
            header, document = self._headers[number], self.documents[number]
            body = starts[number] + len(header)
            if start < body:
                yield header[max(0, start - starts[number]) : min(end, body) - starts[number]]
            body_end = body + len(document)
            if end > body and start < body_end:
                yield from document._pieces(max(start, body) - body, min(end, body_end) - body)
            if start <= body_end < end and number + 1 < len(starts):
                yield "\n"
            number += 1

    def __getitem__(self, key: int | slice | str) -> str:  # type: ignore[override]
        if isinstance(key, str):
            return self.read(key)
        return super().__getitem__(key)

    def document(self, path: str) -> Document:
        """The Document for a path (exact, or a unique path ending); KeyError names close ones."""
        if path in self._by_path:
            return self._by_path[path]
        wanted = path.removeprefix("./")
        found = [doc for doc in self.documents if doc.path == wanted or doc.path.endswith("/" + wanted)]
        if len(found) == 1:
            return found[0]
        if found:
            raise KeyError(f"{path!r} is ambiguous: {', '.join(doc.path for doc in found[:5])}")
        import difflib

        close = difflib.get_close_matches(path, self._by_path, n=3)
        raise KeyError(f"no document {path!r}" + (f"; did you mean {', '.join(close)}?" if close else ""))

    def read(self, path: str) -> str:
        """The whole text of one document, by its path (as in context.files)."""
        return self.document(path).text

    def locate(self, offset: int) -> tuple[str, int]:
        """(path, offset within that document) for an offset into the joined text."""
        if not 0 <= offset < len(self):
            raise IndexError(f"offset {offset} out of range for length {len(self)}")
        number = bisect.bisect_right(self._starts(), offset) - 1
        body = self._starts()[number] + len(self._headers[number])
        return self.documents[number].path, max(0, offset - body)

    def grep(
        self, pattern: str | re.Pattern[str], *, paths: str | Iterable[str] | None = None,
        ignore_case: bool = False, context_lines: int = 0, max_matches: int = MAX_MATCHES,
    ) -> GrepResult:
        """Search every document line by line for a regular expression (Python re syntax).

        Returns a list of matches, each with .path, .line_no (from 1), .line, and .before /
        .after (context_lines lines each side) and .page for PDFs; printing it shows
        `path:line: text`. paths: a path, a glob ("src/*.py", "*.md") or a list of them.
        Stops after max_matches and says so (result.truncated). Use re.escape(s) for literal s.
        """
        regex = _compile(pattern, ignore_case)
        found: list[Match] = []
        truncated = False
        for document in self._select(paths):
            matches, truncated = document._grep(regex, context_lines, max_matches - len(found))
            found.extend(matches)
            if truncated:
                break
        return GrepResult(found, pattern=regex.pattern, max_matches=max_matches, truncated=truncated)

    def _select(self, paths: str | Iterable[str] | None) -> list[Document]:
        if paths is None:
            return self.documents
        wanted = [paths] if isinstance(paths, str) else list(paths)
        return [
            document for document in self.documents
            if any(
                document.path == pattern or fnmatch.fnmatchcase(document.path, pattern)
                or ("/" not in pattern and fnmatch.fnmatchcase(document.path.rsplit("/", 1)[-1], pattern))
                for pattern in wanted
            )
        ]

    def chunks(self, max_chars: int, overlap: int = 0, by: str = "lines") -> list[Chunk]:
        """Pieces of at most max_chars characters, ready for llm_batch; each knows its source.

        by="lines": the joined text cut after a newline (a chunk may span several files).
        by="files": whole documents packed together; a document larger than max_chars is cut
        by lines. overlap repeats that many characters (whole lines where possible) between
        neighbouring pieces. Each chunk is a str with .path, .paths, .start, .end, .index.
        For a huge input, iter_chunks() gives the same pieces one at a time.
        """
        return list(self.iter_chunks(max_chars, overlap, by))

    def iter_chunks(self, max_chars: int, overlap: int = 0, by: str = "lines") -> Iterator[Chunk]:
        """The pieces of chunks(), one at a time (bounded memory)."""
        if by == "lines":
            spans = self._cuts(0, len(self), max_chars, overlap)
        elif by == "files":
            spans = self._file_spans(max_chars, overlap)
        else:
            raise ValueError(f'by must be "lines" or "files", not {by!r}')
        for index, (start, end, text) in enumerate(spans):
            yield Chunk(text, index=index, start=start, end=end, paths=self._paths_between(start, end))

    def _file_spans(self, max_chars: int, overlap: int) -> Iterator[tuple[int, int, str]]:
        starts = [*self._starts(), len(self) + 1]  # +1: the last document has no separator
        group: tuple[int, int] | None = None
        for number in range(len(self.documents)):
            low, high = starts[number], min(starts[number + 1], len(self))
            if high - low > max_chars:
                if group:
                    yield group[0], group[1], self._slice(*group)
                    group = None
                yield from self._cuts(low, high, max_chars, overlap)
            elif group and high - group[0] > max_chars:
                yield group[0], group[1], self._slice(*group)
                group = (low, high)
            else:
                group = (group[0] if group else low, high)
        if group:
            yield group[0], group[1], self._slice(*group)

    def _paths_between(self, start: int, end: int) -> tuple[str, ...]:
        starts = self._starts()
        first = max(0, bisect.bisect_right(starts, start) - 1)
        last = bisect.bisect_left(starts, end)
        return tuple(document.path for document in self.documents[first:last])

    def summary(self) -> dict[str, int]:
        """Counts for the run summary and the `--json` input block."""
        return {
            "documents": len(self.documents),
            "bytes": sum(document.size for document in self.documents),
            "skipped": len(self.skipped),
        }

    def describe(self, max_chars: int = 4000) -> str:
        """A bounded overview for the root model: counts, sizes, encodings, a capped tree, a preview."""
        return _describe(self, max_chars)

    def __repr__(self) -> str:
        summary = self.summary()
        skipped = f", {summary['skipped']} skipped" if summary["skipped"] else ""
        return (
            f"<Corpus: {summary['documents']:,} documents, {_human(summary['bytes'])}{skipped}. "
            "print(context.describe()) for an overview, help(context) for what it can do>"
        )


def load_manifest(path: str | Path) -> Corpus:
    """Rebuild the Corpus a manifest file describes (documents stay on disk until read)."""
    return Corpus.from_manifest(json.loads(Path(path).read_text(encoding="utf-8")))


def _compile(pattern: str | re.Pattern[str], ignore_case: bool) -> re.Pattern[str]:
    flags = re.MULTILINE | (re.IGNORECASE if ignore_case else 0)
    if isinstance(pattern, re.Pattern):
        return re.compile(pattern.pattern, pattern.flags | flags)
    try:
        return re.compile(pattern, flags)
    except re.error as error:
        raise ValueError(f"bad regular expression {pattern!r}: {error} (re.escape(text) matches text literally)") from None


def _resume_after_count(buffer: str, sub: str) -> int:
    """Where counting must resume in `buffer`: after its last counted match, or len(sub)-1 from the end."""
    resume = len(buffer) - len(sub) + 1
    last = buffer.rfind(sub)
    if last == -1 or last + len(sub) <= resume:
        return resume
    if not any(sub[:size] == sub[-size:] for size in range(1, len(sub))):
        return last + len(sub)  # occurrences cannot overlap, so the last one was counted
    position = end = 0
    while (position := buffer.find(sub, position)) != -1:
        position = end = position + len(sub)
    return max(resume, end)


def _lines_before(piece: str, line_start: int, wanted: int, tail: list[str]) -> list[str]:
    start = line_start
    for _ in range(wanted):
        if start == 0:
            break
        start = piece.rfind("\n", 0, start - 1) + 1
    lines = piece[start : max(start, line_start - 1)].split("\n") if start < line_start else []
    if start == 0 and len(lines) < wanted:
        lines = tail[len(tail) - (wanted - len(lines)) :] + lines
    return [line.removesuffix("\r") for line in lines]


def _lines_after(piece: str, line_end: int, wanted: int) -> list[str]:
    return _first_lines(piece[line_end + 1 :], wanted) if line_end + 1 < len(piece) else []


def _fill_after(waiting: list[Match], piece: str, wanted: int) -> None:
    lines = _first_lines(piece, wanted)
    for match in waiting:
        match.after.extend(lines[: wanted - len(match.after)])
    waiting.clear()


def _first_lines(text: str, wanted: int) -> list[str]:
    parts = text.split("\n", wanted)
    if len(parts) <= wanted and parts[-1] == "":
        parts.pop()  # what follows a final newline is not a line
    return [line.removesuffix("\r") for line in parts[:wanted]]


def _clip(line: str, column: int) -> str:
    if len(line) <= _SHOWN_LINE:
        return line
    start = max(0, min(column - _SHOWN_LINE // 4, len(line) - _SHOWN_LINE))
    shown = line[start : start + _SHOWN_LINE]
    return ("…" if start else "") + shown + ("…" if start + _SHOWN_LINE < len(line) else "") + f" [{len(line):,} chars]"


def _human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _counts(values: Iterable[str]) -> str:
    return ", ".join(f"{value} ({count:,})" for value, count in Counter(values).most_common())


_TREE_SHAPES = ((99, 10**6), (99, 30), (6, 20), (4, 12), (3, 8), (2, 8), (2, 4), (1, 10), (1, 4), (1, 2))
_PREVIEW_CHARS = 500
_KIND_LABELS = {"text": "text file", "pdf": "PDF", "stdin": "stdin stream"}


def _describe(corpus: Corpus, max_chars: int) -> str:
    documents = corpus.documents
    if not documents:
        return "The context is empty: no documents."[:max_chars]
    lines = [_headline(corpus)]
    lines.append(
        "str(context) is the document's text as it is; len(), slices and offsets count its characters."
        if len(documents) == 1 else
        "str(context) is every document as a `=== path ===` line then its text, joined by "
        "newlines; len(), slices and offsets count characters of that text."
    )
    if corpus.skipped:
        reasons = (item.reason.split(":")[0].split(" (")[0] for item in corpus.skipped)
        lines.append(f"Skipped {len(corpus.skipped):,} inputs: {_counts(reasons)}.")
    lines.append(f"Encodings: {_counts(document.encoding for document in documents)}.")
    for document in [document for document in documents if document.mapped][:3]:
        lines.append(
            f"{document.path} ({_human(document.size)}) is memory-mapped: grep, count, find, slices "
            "and chunks read it from disk in blocks (the first such call scans it once to count "
            "characters, about a second per GB); str(context) or .text would load it whole."
        )
    noted = [document for document in documents if document.note]
    lines += [f"Note, {document.path}: {document.note}" for document in noted[:5]]
    if len(noted) > 5:
        lines.append(f"({len(noted) - 5:,} more documents carry notes: see document.note)")
    if all(length is not None for length in _lengths(corpus)) and len(corpus) <= SMALL_CHARS:
        lines.append(
            f"The whole input is small (~{len(corpus) // 4:,} tokens): print(context) and read it "
            "whole before anything else."
        )
    preview = _preview(documents[0])
    fixed = "\n".join(lines)
    budget = max_chars - len(fixed) - len(preview) - 20
    text = fixed + "\nFiles:\n" + _tree(documents, budget) + "\n" + preview
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def _lengths(corpus: Corpus) -> list[int | None]:
    return [document.known_length for document in corpus.documents]


def _headline(corpus: Corpus) -> str:
    documents = corpus.documents
    kinds = Counter(document.kind for document in documents)
    parts = []
    for kind, count in kinds.most_common():
        label = _KIND_LABELS.get(kind, kind) + ("s" if count > 1 else "")
        if kind == "pdf":
            label += f" ({sum(document.page_count for document in documents):,} pages)"
        parts.append(f"{count:,} {label}")
    size = _human(sum(document.size for document in documents))
    if any(length is None for length in _lengths(corpus)):
        length = "characters counted on first use"
    else:
        length = f"{len(corpus):,} characters, ~{len(corpus) // 4:,} tokens"
    return f"`context` holds {_plural(len(documents), 'document')} ({', '.join(parts)}): {size}, {length}."


def _preview(document: Document) -> str:
    head = document.head(_PREVIEW_CHARS)
    shown = "\n".join("  " + line for line in head.splitlines()[:12])
    return f"Start of {document.path}:\n{shown}"


class _Folder:
    """A directory of the path tree, with the files and bytes below it."""

    def __init__(self) -> None:
        self.folders: dict[str, _Folder] = {}
        self.files: list[tuple[str, int]] = []
        self.count = 0
        self.bytes = 0


class _TreeFull(Exception):
    """The rendered tree passed its budget."""


def _tree(documents: list[Document], budget: int) -> str:
    root = _Folder()
    for document in documents:
        *folders, name = document.path.split("/")
        if folders and folders[0] == "":  # an absolute path: keep its leading slash
            folders = ["/" + folders[1], *folders[2:]] if len(folders) > 1 else []
            name = name if folders else "/" + name
        node = root
        for part in [None, *folders]:
            node = node if part is None else node.folders.setdefault(part, _Folder())
            node.count += 1
            node.bytes += document.size
        node.files.append((name, document.size))
    for depth, width in _TREE_SHAPES:
        rows: list[str] = []
        try:
            _render(root, "", depth, width, rows, [budget])
        except _TreeFull:
            continue
        return "\n".join(rows)
    return f"{root.count:,} files in {len(root.folders):,} top-level folders (too many to list)"


def _render(node: _Folder, indent: str, depth: int, width: int, rows: list[str], left: list[int]) -> None:
    def emit(row: str) -> None:
        left[0] -= len(row) + 1
        if left[0] < 0:
            raise _TreeFull
        rows.append(row)

    entries: list[tuple[str, _Folder | int]] = [*sorted(node.folders.items()), *sorted(node.files)]
    for position, (name, entry) in enumerate(entries):
        if position == width:
            rest = entries[width:]
            files = sum(1 if isinstance(item, int) else item.count for _, item in rest)
            size = sum(item if isinstance(item, int) else item.bytes for _, item in rest)
            emit(f"{indent}… {len(rest):,} more entries ({_plural(files, 'file')}, {_human(size)})")
            return
        if isinstance(entry, int):
            emit(f"{indent}{name} ({_human(entry)})")
            continue
        while not entry.files and len(entry.folders) == 1:  # show a/b/c/ as one line
            (inner, entry), = entry.folders.items()
            name = f"{name}/{inner}"
        emit(f"{indent}{name}/ ({_plural(entry.count, 'file')}, {_human(entry.bytes)})")
        if depth > 1:
            _render(entry, indent + "  ", depth - 1, width, rows, left)
