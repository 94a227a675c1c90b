"""One candidate file to one manifest entry: PDF, binary, too large, text read whole, or mapped.

Reads each file once with a few system calls; decoding decisions come from decode.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from rlm_cli.corpus import Skipped
from rlm_cli.ingest import decode
from rlm_cli.ingest.pdfs import PdfParser
from rlm_cli.ingest.reuse import IngestCache
from rlm_cli.ingest.spool import Spool
from rlm_cli.ingest.walk import Candidate


def examine_all(
    candidates: Iterable[Candidate], limits: Limits, spool: Spool, pdfs: PdfParser, cache: IngestCache | None = None,
) -> Iterator[dict[str, Any] | Skipped]:
    """examine() each candidate in order, opening walked files relative to their folder; a file
    unchanged since an earlier run takes its entry from `cache` instead.

    A walk lists a folder's files together, so each folder is opened once and every file in it
    is opened by name: the kernel then resolves one path component, not the whole path.
    """
    folder: str | None = None
    folder_fd: int | None = None
    try:
        for candidate in candidates:
            spool.clock.check("reading the input files")
            if candidate.folder != folder:
                if folder_fd is not None:
                    os.close(folder_fd)
                folder, folder_fd = candidate.folder, _open_folder(candidate.folder)
            reused = _reused(candidate, cache, folder_fd) if cache is not None else None
            if reused is not None:
                yield reused
                continue
            result = examine(candidate, limits, spool, pdfs, folder_fd)
            if cache is not None and not isinstance(result, Skipped):
                cache.keep(candidate.file, result)
            yield result
    finally:
        if folder_fd is not None:
            os.close(folder_fd)


def examine(candidate: Candidate, limits: Limits, spool: Spool, pdfs: PdfParser, folder_fd: int | None = None) -> dict[str, Any] | Skipped:
    """The manifest entry for a candidate, or why it is skipped (folder_fd: its open folder)."""
    try:
        fd = os.open(candidate.file if folder_fd is None else candidate.name, os.O_RDONLY, dir_fd=folder_fd)
    except OSError as error:
        return Skipped(candidate.path, f"unreadable: {error.strerror}")
    try:
        head = os.read(fd, decode.HEAD)
        size = candidate.size
        if size is None:  # a short first read of a regular file is the whole file
            size = candidate.size = len(head) if len(head) < decode.HEAD else os.fstat(fd).st_size
        if (skipped := too_large(candidate, size, limits)) is not None:
            return skipped
        if head.startswith(b"%PDF-") or (candidate.path.lower().endswith(".pdf") and head.find(b"%PDF-", 0, 1024) != -1):
            return pdfs.extract(candidate.path, candidate.file, size)
        bom = decode.bom_encoding(head)
        if bom is None and decode.looks_binary(head):
            return Skipped(candidate.path, "binary")
        if size > limits.mmap_threshold:
            return _mapped(candidate, head, bom, spool)
        # A short first read is the whole file, unless a named file's size said otherwise (/proc).
        data: decode.Readable = head if len(head) == size and size < decode.HEAD else _read_rest(fd, head, size)
        decoded = decode.measure(data, bom)
    except OSError as error:
        return Skipped(candidate.path, f"unreadable: {error.strerror}")
    finally:
        os.close(fd)
    return _entry(candidate, candidate.file, decoded, len(data), mapped=False, offset=0)


def too_large(candidate: Candidate, size: int, limits: Limits) -> Skipped | None:
    """A walked file past --max-file-size is skipped (a file named explicitly is always read)."""
    if size > limits.max_file_size and not candidate.explicit:
        return Skipped(candidate.path, f"too large: {size:,} bytes over --max-file-size {limits.max_file_size:,}")
    return None


def _reused(candidate: Candidate, cache: IngestCache, folder_fd: int | None) -> dict[str, Any] | None:
    """The cached entry of a file that has not changed (one stat), else None."""
    if candidate.kind != "text":
        return None
    try:
        info = os.stat(candidate.file if folder_fd is None else candidate.name, dir_fd=folder_fd)
    except OSError:
        return None
    return cache.lookup(candidate.file, info)


def _open_folder(folder: str | None) -> int | None:
    if folder is None:
        return None
    try:
        return os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:  # its files are then opened by their full path, and fail there if they must
        return None


class Limits(NamedTuple):
    """Sizes that change how a file is taken."""

    max_file_size: int  # walked files past this are skipped
    mmap_threshold: int  # files past this are memory-mapped, not read


def _read_rest(fd: int, head: bytes, size: int) -> decode.Readable:
    """The whole file: read into memory when small, else read a slice at a time when measured
    (the worker reads the text itself: holding it here too doubled the memory of a run)."""
    if size > decode.SLICE:
        return FileSlices(fd, size)
    parts, total = [head], len(head)
    while block := os.read(fd, max(size - total + 1, decode.HEAD)):
        parts.append(block)
        total += len(block)
    return b"".join(parts)


class FileSlices:
    """An open file's first `size` bytes as slices read with pread (never mapped: a file
    truncated meanwhile reads short, never raises SIGBUS)."""

    def __init__(self, fd: int, size: int) -> None:
        self._fd, self._size = fd, size

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, key: slice, /) -> bytes:
        start, stop, _ = key.indices(self._size)
        return os.pread(self._fd, max(0, stop - start), start)


def _mapped(candidate: Candidate, head: bytes, bom: str | None, spool: Spool) -> dict[str, Any]:
    """An entry the worker memory-maps: only the first block was looked at."""
    if bom in ("utf-16", "utf-32"):
        # Mapped text is scanned for b"\n" in blocks, which needs an ASCII-compatible encoding.
        target = spool.transcode(candidate.file, bom)
        note = f"transcoded from {bom} to UTF-8 for memory mapping"
        entry = _entry(candidate, str(target), decode.Decoded("utf-8", -1, note), _size(candidate), mapped=True, offset=0)
        return entry | {"end": target.stat().st_size}  # `size` stays the input's own
    sniffed = decode.sniff(head, bom)
    offset = decode.ASCII_COMPATIBLE_BOMS.get(sniffed.encoding, 0)
    encoding = "utf-8" if offset else sniffed.encoding
    # The model-facing description says, for every mapped document, that its encoding was judged
    # from its start; only a sniffing note of its own is worth repeating per document.
    return _entry(candidate, candidate.file, decode.Decoded(encoding, -1, sniffed.note), _size(candidate), mapped=True, offset=offset)


def _size(candidate: Candidate) -> int:
    assert candidate.size is not None  # examine measured it
    return candidate.size


def _entry(candidate: Candidate, file: str, decoded: decode.Decoded, size: int, *, mapped: bool, offset: int) -> dict[str, Any]:
    return {
        "path": candidate.path, "file": file, "encoding": decoded.encoding, "size": size,
        "kind": candidate.kind, "pages": None, "mmap": mapped,
        "chars": None if mapped else decoded.chars, "offset": offset, "note": decoded.note,
        "end": size,  # readers stop here: a file appended during the run keeps its ingested length
    }
