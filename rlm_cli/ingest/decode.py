"""Decoding decisions: BOMs, binary sniffing, the UTF-8 fast path, chardet for the rest.

Works on bytes already read; chardet is imported only when UTF-8 fails.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import NamedTuple, Protocol

HEAD = 64 * 1024  # bytes read first: all of most files, enough to sniff the rest
SNIFF = 8 * 1024  # bytes searched for a NUL (as git does)
_CONTROL_SNIFF = 4 * 1024  # bytes whose share of control characters is judged
_SAMPLE = 256 * 1024  # bytes chardet looks at
SLICE = 16 * 1024 * 1024  # bytes decoded at a time when counting characters
_BINARY_RATIO = 0.3
_MIN_CONFIDENCE = 0.2
# Bytes that appear in text: printable ASCII, common whitespace, ESC (ANSI colours), backspace,
# and every byte >= 0x80 (some encoding's letters).
_TEXT_BYTES = bytes(range(0x20, 0x7F)) + b"\t\n\r\f\v\x1b\x08" + bytes(range(0x80, 0x100))
_HIGH_BYTES = bytes(range(0x80, 0x100))
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_BOM_STARTS = frozenset(bom[:1] for bom, _ in _BOMS)
ASCII_COMPATIBLE_BOMS = {"utf-8-sig": len(codecs.BOM_UTF8)}


class Readable(Protocol):
    """Bytes held whole, or a file read a slice at a time (len, and slices giving bytes)."""

    def __len__(self) -> int: ...

    def __getitem__(self, key: slice, /) -> bytes: ...


class Decoded(NamedTuple):
    """How a document decodes: the codec name, its length in characters, and any caveat."""

    encoding: str
    chars: int
    note: str | None = None


def bom_encoding(head: bytes) -> str | None:
    """The codec a byte-order mark announces, or None."""
    if head[:1] not in _BOM_STARTS:
        return None
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    return None


def looks_binary(head: bytes) -> bool:
    """True for a NUL byte or many control bytes near the start (BOM-less input)."""
    if head.find(b"\0", 0, SNIFF) != -1:
        return True
    head = head[:_CONTROL_SNIFF]
    control = len(head.translate(None, _TEXT_BYTES))
    return bool(head) and control / len(head) > _BINARY_RATIO


def measure(data: Readable, bom: str | None) -> Decoded:
    """Decide the encoding of a whole document and count its characters, a slice at a time."""
    if bom is None and all(part.isascii() for part in _slices(data)):
        return Decoded("utf-8", len(data))
    encoding = bom or "utf-8"
    chars = _strict_length(data, encoding)
    if chars is not None:
        return Decoded(encoding, chars)
    if bom is None and not _mostly_utf8(data):
        encoding, note = detect(data[:_SAMPLE])
        chars = _strict_length(data, encoding)
        if chars is not None:
            return Decoded(encoding, chars, note)
    chars, replaced = _lenient_length(data, encoding)
    bad = replaced - _count_real_replacements(data, encoding)
    return Decoded(encoding, chars, f"{bad:,} undecodable byte sequences shown as U+FFFD ({encoding})")


def sniff(head: bytes, bom: str | None) -> Decoded:
    """Decide the encoding from the first block alone (for inputs too big to read); chars unknown (-1)."""
    if bom is not None:
        return Decoded(bom, -1)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return Decoded("utf-8", -1)
    except UnicodeDecodeError:
        pass
    encoding, note = detect(head)
    return Decoded(encoding, -1, f"{note}, judged from the first {len(head):,} bytes")


def detect(sample: bytes) -> tuple[str, str]:
    """chardet's guess as a Python codec name, and a note saying how sure it was.

    Below _MIN_CONFIDENCE (short samples: chardet then picks almost at random among
    single-byte code pages) the guess is cp1252, the commonest non-UTF-8 text encoding.
    """
    import chardet

    try:
        from chardet import EncodingEra

        guess = chardet.detect(sample, encoding_era=EncodingEra.MODERN_WEB)
    except ImportError:  # chardet before 7 has no encoding eras
        guess = chardet.detect(sample)
    confidence = guess.get("confidence") or 0.0
    encoding = guess.get("encoding") if confidence >= _MIN_CONFIDENCE else None
    try:
        name = codecs.lookup(encoding or "cp1252").name
    except LookupError:
        name = "cp1252"
    if encoding is None:
        return name, f"not UTF-8; encoding unsure, read as {name}"
    return name, f"not UTF-8; chardet detected {name} (confidence {confidence:.2f})"


def _slices(data: Readable, overlap: int = 0) -> Iterator[bytes]:
    """The data in slices of SLICE bytes, each reaching `overlap` bytes into the next (bytes
    held whole come back as they are: slicing all of a bytes object copies nothing)."""
    for start in range(0, max(len(data), 1), SLICE):
        yield data[start : start + SLICE + overlap]


def _strict_length(data: Readable, encoding: str) -> int | None:
    decoder = codecs.getincrementaldecoder(encoding)()
    chars = 0
    try:
        for part in _slices(data):
            chars += len(decoder.decode(part))
        chars += len(decoder.decode(b"", final=True))
    except (UnicodeDecodeError, LookupError):
        return None
    return chars


def _lenient_length(data: Readable, encoding: str) -> tuple[int, int]:
    """Characters, and U+FFFD among them, with bad bytes replaced."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    chars = replaced = 0
    for part in [*_slices(data), b""]:
        text = decoder.decode(part, final=not part)
        chars, replaced = chars + len(text), replaced + text.count("\ufffd")
    return chars, replaced


def _mostly_utf8(data: Readable) -> bool:
    """UTF-8 with a few stray bytes (a common log accident) rather than another encoding."""
    high = sum(len(part) - len(part.translate(None, _HIGH_BYTES)) for part in _slices(data))
    bad = _lenient_length(data, "utf-8")[1] - _count_real_replacements(data, "utf-8")
    return bad * 20 <= high


def _count_real_replacements(data: Readable, encoding: str) -> int:
    if not encoding.startswith("utf-8"):
        return 0
    mark = "\ufffd".encode("utf-8")  # slices overlap by all but one byte of it: each one counted once
    return sum(part.count(mark) for part in _slices(data, len(mark) - 1))
