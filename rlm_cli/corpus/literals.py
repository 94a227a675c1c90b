"""What a regular expression needs literally: the strings one of which every match contains.

A byte scan finds those strings at memchr speed and hands only the lines holding one to the
regex engine, as GNU grep and ripgrep do. A pattern that could match across a newline, or one
whose every match need not contain a literal, gets no prefilter (None). Standard library only.
"""

from __future__ import annotations

import re
from re import _constants as sre  # type: ignore[attr-defined]  # the parser's opcodes
from re import _parser as sre_parse  # type: ignore[attr-defined]  # the standard library's own regex parser
from typing import Any, NamedTuple

_NEWLINE = 10
# Categories of \d, \w, \S and their kin contain no newline; \s, \D, \W and the rest do.
_SAFE_CATEGORIES = frozenset({
    sre.CATEGORY_DIGIT, sre.CATEGORY_WORD, sre.CATEGORY_NOT_SPACE, sre.CATEGORY_NOT_LINEBREAK,
    sre.CATEGORY_UNI_DIGIT, sre.CATEGORY_UNI_WORD, sre.CATEGORY_UNI_NOT_SPACE, sre.CATEGORY_UNI_NOT_LINEBREAK,
    sre.CATEGORY_LOC_WORD,
})
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)


class Prefilter(NamedTuple):
    """Strings one of which every match contains; `folded`: compare them against ASCII-lowercased text."""

    literals: tuple[str, ...]
    folded: bool


def prefilter(regex: re.Pattern[str]) -> Prefilter | None:
    """The literal prefilter for a compiled str pattern, or None when it cannot have one."""
    try:
        parsed = sre_parse.parse(regex.pattern, regex.flags)
    except re.error:  # compiled already, so this does not happen; no prefilter if it does
        return None
    flags = parsed.state.flags
    if not _line_bound(parsed.data, bool(flags & re.DOTALL)):
        return None
    found = _required(parsed.data)
    if not found:
        return None
    if flags & re.IGNORECASE:
        folded = tuple(_foldable_part(literal) for literal in found)
        return Prefilter(folded, True) if all(folded) else None
    return Prefilter(tuple(found), False)


def _foldable_part(literal: str) -> str:
    """The longest part of `literal` that ASCII lowercasing compares exactly, lowercased ("" if none)."""
    # i, k and s also match a non-ASCII letter when ignoring case (U+0130, U+0131, U+212A, U+017F).
    parts = re.split(r"[^\x00-\x7f]|[iksIKS]", literal)
    return max(parts, key=len).lower()


def _line_bound(items: Any, dotall: bool) -> bool:
    """True when no match of these parsed items can hold a newline or depend on the text's ends."""
    for op, av in items:
        if op is sre.LITERAL:
            if av == _NEWLINE:
                return False
        elif op is sre.NOT_LITERAL or (op is sre.ANY and dotall):
            return False
        elif op is sre.IN:
            if not _set_bound(av):
                return False
        elif op is sre.AT:
            if av in (sre.AT_BEGINNING_STRING, sre.AT_END_STRING):
                return False
        elif op is sre.SUBPATTERN:
            _group, add, remove, body = av
            if add or remove or not _line_bound(body, dotall):
                return False
        elif op is sre.BRANCH:
            if not all(_line_bound(branch, dotall) for branch in av[1]):
                return False
        elif op in _REPEATS:
            if not _line_bound(av[2], dotall):
                return False
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            if not _line_bound(av[1], dotall):
                return False
        elif op is sre.ATOMIC_GROUP:
            if not _line_bound(av, dotall):
                return False
        elif op is sre.GROUPREF_EXISTS:
            _group, yes, no = av
            if not _line_bound(yes, dotall) or (no is not None and not _line_bound(no, dotall)):
                return False
        elif op not in (sre.ANY, sre.GROUPREF):
            return False  # an opcode not looked at here: no prefilter rather than a wrong one
    return True


def _set_bound(items: Any) -> bool:
    for op, av in items:
        if op is sre.NEGATE or (op is sre.LITERAL and av == _NEWLINE):
            return False
        if op is sre.RANGE and av[0] <= _NEWLINE <= av[1]:
            return False
        if op is sre.CATEGORY and av not in _SAFE_CATEGORIES:
            return False
    return True


def _required(items: Any) -> list[str] | None:
    """Strings one of which every match of the sequence `items` contains, or None."""
    best: list[str] | None = None
    run: list[str] = []

    def consider(found: list[str] | None) -> None:
        nonlocal best
        if found and (best is None or _score(found) > _score(best)):
            best = found

    for op, av in items:
        if op is sre.LITERAL:
            run.append(chr(av))
            continue
        consider(["".join(run)] if run else None)
        run = []
        if op is sre.SUBPATTERN:
            consider(_required(av[3]))
        elif op is sre.BRANCH:
            branches = [_required(branch) for branch in av[1]]
            if all(branches):
                consider([literal for branch in branches if branch for literal in branch])
        elif op in _REPEATS and av[0] >= 1:
            consider(_required(av[2]))
        elif op is sre.ATOMIC_GROUP:
            consider(_required(av))
    consider(["".join(run)] if run else None)
    return best


def _score(found: list[str]) -> tuple[int, int]:
    """Longer shortest string first (fewer false candidates), then fewer strings to look for."""
    return min(len(literal) for literal in found), -len(found)
