"""A str subclass instance holding a long text, made without a second copy of that text.

CPython copies the text into a new buffer whenever a str subclass is made (`str.__new__(cls,
text)`), so a `context` of n characters cost 2n while it was made. Here the instance is made from
a blank str of the right length and width whose memory is never written (so never resident),
and its buffer is then filled piece by piece. Where the interpreter's layout does not pass a
check at first use, the text is joined and copied as before. Standard library only.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from typing import TypeVar

S = TypeVar("S", bound=str)

_CODECS = {1: "latin-1", 2: f"utf-16-{sys.byteorder[0]}e", 4: f"utf-32-{sys.byteorder[0]}e"}
_MAX_CHAR = {1: 0xFF, 2: 0xFFFF, 4: 0x10FFFF}


def filled(cls: type[S], pieces: Callable[[], Iterable[str]]) -> S:
    """An instance of the str subclass `cls` holding "".join(pieces()).

    `pieces()` is called twice: once to measure the text (its length and widest character),
    once to copy each piece into place; only one piece at a time is held besides the result.
    ValueError when the second reading differs from the first in length or width."""
    import ctypes  # here: only inputs this large pay for importing it

    data_offset = _data_offset()
    if data_offset is None:
        return str.__new__(cls, "".join(pieces()))
    length, width, ascii_only = 0, 1, True
    for piece in pieces():
        length += len(piece)
        if not piece.isascii():
            ascii_only = False
            width = max(width, _width(piece))
    blank = _new_str(length, 0x7F if ascii_only else _MAX_CHAR[width])
    result = str.__new__(cls, blank)  # copies pages of the blank never written: zero pages, not resident
    del blank
    buffer = ctypes.c_void_p.from_address(id(result) + data_offset).value
    assert buffer is not None
    at, size = 0, length * width
    for piece in pieces():
        try:
            raw = piece.encode(_CODECS[width], "surrogatepass")
        except UnicodeEncodeError:  # wider than the first reading's widest character
            raise _Changed() from None
        if at + len(raw) > size or len(raw) != len(piece) * width:  # never written past the buffer
            raise _Changed()
        ctypes.memmove(buffer + at, raw, len(raw))
        at += len(raw)
    if at != size:
        raise _Changed()
    return result


class _Changed(ValueError):
    def __init__(self) -> None:
        super().__init__("the pieces changed between the two readings")


def _width(piece: str) -> int:
    """Bytes per character CPython gives a str holding `piece` (non-ASCII): 1, 2 or 4."""
    try:
        piece.encode("latin-1")
        return 1
    except UnicodeEncodeError:
        pass
    return 2 if len(piece.encode(_CODECS[2], "surrogatepass")) == 2 * len(piece) else 4


def _new_str(length: int, max_char: int) -> str:
    import ctypes

    new = ctypes.pythonapi.PyUnicode_New
    new.argtypes, new.restype = (ctypes.c_ssize_t, ctypes.c_uint32), ctypes.py_object
    return new(length, max_char)  # type: ignore[no-any-return]  # ctypes returns the object as is


@functools.cache
def _data_offset() -> int | None:
    """Where a str subclass instance keeps the pointer to its characters, checked on samples of
    every width; None when this interpreter does not lay strings out as CPython 3.11-3.13 does."""
    if sys.implementation.name != "cpython":
        return None
    import ctypes

    fresh = "".join(["\xe9"] * 3)  # made now, so no UTF-8 form is cached (sys.getsizeof would count it)
    offset = sys.getsizeof(fresh) - len(fresh) - 1  # the header of a compact non-ASCII str; the pointer follows it

    class Probe(str):
        pass

    as_utf8 = ctypes.pythonapi.PyUnicode_AsUTF8
    as_utf8.argtypes, as_utf8.restype = (ctypes.py_object,), ctypes.c_void_p
    probe = Probe("abc")  # an ASCII str shares its characters with its UTF-8 form: the same pointer
    if ctypes.c_void_p.from_address(id(probe) + offset).value != as_utf8(probe):
        return None
    for sample, width in (("abc", 1), ("ab\xe9", 1), ("a\u20ac", 2), ("a\U0001f600", 4)):
        probe = Probe(sample)
        buffer = ctypes.c_void_p.from_address(id(probe) + offset).value
        if not buffer or ctypes.string_at(buffer, len(sample) * width) != sample.encode(_CODECS[width]):
            return None
    return offset
