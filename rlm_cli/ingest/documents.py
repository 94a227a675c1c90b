"""One candidate file to one manifest entry: PDF, binary, too large, text read whole, or mapped.

Reads each file once with a few system calls; decoding decisions come from decode.py.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

from rlm_cli.corpus import Skipped
from rlm_cli.ingest import decode, pdf
from rlm_cli.ingest.spool import Spool
from rlm_cli.ingest.walk import Candidate


def examine(candidate: Candidate, limits: Limits, spool: Spool) -> dict[str, Any] | Skipped:
    """The manifest entry for a candidate, or why it is skipped."""
    try:
        fd = os.open(candidate.file, os.O_RDONLY)
    except OSError as error:
        return Skipped(candidate.path, f"unreadable: {error.strerror}")
    try:
        head = os.read(fd, decode.HEAD)
        if candidate.size is None:  # a short first read of a regular file is the whole file
            candidate.size = len(head) if len(head) < decode.HEAD else os.fstat(fd).st_size
        if not candidate.explicit and candidate.size > limits.max_file_size:
            return Skipped(candidate.path, f"too large: {candidate.size:,} bytes over --max-file-size {limits.max_file_size:,}")
        if head.startswith(b"%PDF-") or (head.find(b"%PDF-", 0, 1024) != -1 and candidate.path.lower().endswith(".pdf")):
            return pdf.extract(candidate.path, candidate.file, candidate.size, spool)
        bom = decode.bom_encoding(head)
        if bom is None and decode.looks_binary(head):
            return Skipped(candidate.path, "binary")
        if candidate.size > limits.mmap_threshold:
            return _mapped(candidate, head, bom, spool)
        data = _read_rest(fd, head, candidate.size)
    except OSError as error:
        return Skipped(candidate.path, f"unreadable: {error.strerror}")
    finally:
        os.close(fd)
    decoded = decode.measure(data, bom)
    return _entry(candidate, candidate.file, decoded, len(data), mapped=False, offset=0)


class Limits(NamedTuple):
    """Sizes that change how a file is taken."""

    max_file_size: int  # walked files past this are skipped
    mmap_threshold: int  # files past this are memory-mapped, not read


def _read_rest(fd: int, head: bytes, size: int) -> bytes:
    if len(head) < decode.HEAD and len(head) == size:
        return head  # the whole file came in the first read
    parts, total = [head], len(head)
    while block := os.read(fd, max(size - total + 1, decode.HEAD)):
        parts.append(block)
        total += len(block)
    return b"".join(parts)


def _mapped(candidate: Candidate, head: bytes, bom: str | None, spool: Spool) -> dict[str, Any]:
    """An entry the worker memory-maps: only the first block was looked at."""
    if bom in ("utf-16", "utf-32"):
        # Mapped text is scanned for b"\n" in blocks, which needs an ASCII-compatible encoding.
        target = spool.transcode(candidate.file, bom)
        note = f"transcoded from {bom} to UTF-8 for memory mapping"
        return _entry(candidate, str(target), decode.Decoded("utf-8", -1, note), _size(candidate), mapped=True, offset=0)
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
    }
