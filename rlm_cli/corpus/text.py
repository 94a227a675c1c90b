"""TextLike: str behaviour over text kept in pieces (the lazy forms), and what it refuses.

Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from rlm_cli.corpus.lines import Lines
from rlm_cli.corpus.scan import resume_after_count
from rlm_cli.units import nbytes

INSTEAD = (
    "use context.grep(pattern) to search it, context.iter_chunks(max_chars) or context.chunks(...) "
    "to walk it in pieces, or str(context[a:b]) for a slice"
)


class WholeTextRefused(TypeError):
    """A str operation that would load a memory-mapped text whole."""


class TextLike:
    """str behaviour over text kept in pieces: len, slicing, `in`, count, find, iteration.

    When memory-mapped (`mapped` is True), operations that need the whole text as one str
    (str(), +, .text, .split() and the other str methods) raise WholeTextRefused with a hint
    (otherwise they load it); .splitlines(), .split("\\n") and .lines() give lazy line sequences.
    """

    def __len__(self) -> int:
        raise NotImplementedError

    @property
    def mapped(self) -> bool:
        raise NotImplementedError

    @property
    def size(self) -> int:
        raise NotImplementedError

    def _pieces(self, start: int, end: int) -> Iterable[str]:
        raise NotImplementedError

    def _slice(self, start: int, end: int) -> str:
        return "".join(self._pieces(start, end))

    def _whole(self, operation: str) -> str:
        """The whole text as one str, or WholeTextRefused naming `operation` when mapped."""
        if self.mapped:
            raise WholeTextRefused(
                f"{self._subject()} is a lazy memory-mapped text ({nbytes(self.size)}), not a str: "
                f"{operation} would load it whole. Instead {self._instead()}."
            )
        return self._slice(0, len(self))

    def _subject(self) -> str:
        return "context"

    def _instead(self) -> str:
        return INSTEAD

    @property
    def text(self) -> str:
        """The whole text as one str (loads it; refused when memory-mapped)."""
        return self._whole(".text")

    def __str__(self) -> str:
        return self._whole("str() (and print, f-strings)")

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
                carry = buffer[resume_after_count(buffer, sub) :]
        return total

    def _line_parts(self) -> list[Sequence[str]] | None:
        """The text as parts of split("\\n") elements (see Lines), or None when it cannot be read so."""
        return None

    def splitlines(self, keepends: bool = False) -> Sequence[str]:
        """The lines, as str.splitlines; when memory-mapped, a lazy sequence (len, index, slice,
        iterate) split at "\\n" and "\\r\\n" only."""
        if self.mapped:
            parts = self._line_parts()
            if parts is None:
                self._whole(".splitlines()")
            return Lines(parts or [], splitlines=True, keepends=keepends)
        lines: list[str] = []
        carry = ""
        for piece in self._pieces(0, len(self)):
            ends = (carry + piece).splitlines(True)
            # The last part may continue in the next piece (or be "\r" before "\n").
            carry = ends.pop() if ends else ""
            lines.extend(ends if keepends else "".join(ends).splitlines())
        if carry:
            lines.extend([carry] if keepends else carry.splitlines())
        return lines

    def split(self, sep: str | None = None, maxsplit: int = -1) -> Sequence[str]:
        """As str.split; when memory-mapped only split("\\n") works, giving a lazy sequence."""
        if not self.mapped:
            return self.text.split(sep, maxsplit)
        parts = self._line_parts() if sep == "\n" and maxsplit == -1 else None
        if parts is None:
            self._whole(".split()" if sep is None else f".split({sep!r})")
        return Lines(parts or [], splitlines=False)

    def lines(self) -> Sequence[str]:
        """The lines without their ends: a lazy sequence when memory-mapped (len, index, slice, iterate)."""
        return self.splitlines()

    def _refuse_if_mapped(self, operation: str) -> None:
        if self.mapped:
            self._whole(operation)

    def __add__(self, other: str) -> str:
        return self._whole("+") + other

    def __radd__(self, other: str) -> str:
        return other + self._whole("+")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or not hasattr(str, name):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        if self.mapped:  # hasattr() stays True; calling it explains what to use instead
            return _refused(self, name)
        return getattr(self.text, name)


def _refused(text: TextLike, name: str) -> Callable[..., Any]:
    def refuse(*_: object, **__: object) -> Any:
        text._whole(f".{name}()")

    refuse.__name__ = name
    return refuse


def lazy_hint(error: BaseException) -> str | None:
    """What to use instead, for a TypeError a str-only function raised on a lazy text.

    re.findall(p, context), json.loads(context) and the like reject a non-str with their own
    TypeError naming its type; this recognises those so the REPL can add the hint.
    """
    if not isinstance(error, TypeError) or isinstance(error, WholeTextRefused):
        return None
    names = "|".join(cls.__name__ for cls in _lazy_types())
    if not names or not re.search(rf"\b(?:{names})\b", str(error)):
        return None
    return f"`context` is a lazy memory-mapped text here, not a str, so str-only functions cannot take it. Instead {INSTEAD}."


def _lazy_types() -> Iterator[type]:
    pending = list(TextLike.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        yield cls
