"""Finding citations in an answer's text: `path:line`, `path:a-b`, `path#L12`, `path#page=N`
(with `:line` within the page), `path, line N`, a bare `line N` for piped input, and a quote
written next to one.

Pure text work: knows the input only by its paths. Imports nothing from the run.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from rlm_cli.corpus.cite import STDIN_PATH

_PATH = r"(?P<path>[\w.~+@/-][\w.~+@/-]*)"
_DASH = r"\s*(?:-|\u2013|\u2014|to)\s*"
_CITED = re.compile(
    r"(?<![\w/.:#@-])" + _PATH + r"(?:"
    r"(?::|#L)(?P<line>\d+)(?:" + _DASH + r"L?(?P<last>\d+))?"  # path:12, path:12-20, path#L12-L20
    r"|#page=(?P<page>\d+)(?:-(?P<page_last>\d+))?(?::(?P<page_line>\d+)(?:-(?P<page_line_last>\d+))?)?"
    r"|,?\s+(?:on\s+)?lines?\s+(?P<word_line>\d+)(?:" + _DASH + r"(?P<word_last>\d+))?"  # path, line 12
    r")(?![\w/])"
)
_BARE = re.compile(r"(?<![\w:/.-])[Ll]ines?\s+(?P<line>\d+)(?:" + _DASH + r"L?(?P<last>\d+))?(?![\w/])")
_QUOTE = r"(?:\"(?P<q1>[^\"\n]{2,400})\"|“(?P<q2>[^”\n]{2,400})”)"
_QUOTE_AFTER = re.compile(r"[ \t]*(?:[:,\u2013\u2014-][ \t]*)?(?:" + _QUOTE + r"|`(?P<q3>[^`\n]{2,400})`)")
_QUOTE_BEFORE = re.compile(_QUOTE + r"[,:]?[ \t]*(?:[(\[][ \t]*)?(?:[\u2013\u2014-][ \t]*)?$")
_EXTENSION = re.compile(r"\.[A-Za-z][\w]{0,9}$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"“(*_`]?[A-Z0-9])")
_LIST_MARK = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
CLAIM_CHARS = 300


@dataclass(frozen=True)
class Citation:
    """One citation as written: where it points, the quote next to it, and the claim it backs.

    `start`/`end` delimit the citation (without its quote) in the answer; `line_start` is None for
    a page citation without a line; `page` is set for `#page=` citations.
    """

    written: str
    path: str
    start: int
    end: int
    line_start: int | None = None
    line_end: int | None = None
    page: int | None = None
    page_end: int | None = None
    quote: str | None = None
    claim: str = ""


def find_citations(answer: str, paths: Collection[str]) -> list[Citation]:
    """Every citation in `answer`, in order. `paths`: the input's document paths.

    A token counts as a path when it names a document, has a slash, or ends in an extension the
    input has (so `example.com:8080` is not taken for a citation). A bare `line N` counts when
    the input includes piped input.
    """
    extensions = {ext.group().lower() for path in paths if (ext := _EXTENSION.search(path))}
    names = set(paths) | {path.rsplit("/", 1)[-1] for path in paths}
    found: list[Citation] = []
    for match in _CITED.finditer(answer):
        path = match["path"]
        extension = _EXTENSION.search(path)
        if path not in names and "/" not in path and not (extension and extension.group().lower() in extensions):
            continue
        found.append(_citation(answer, match, path))
    bare_target = _bare_target(paths)
    if bare_target is not None:
        taken = [(c.start, c.end) for c in found]
        for match in _BARE.finditer(answer):
            if not any(low <= match.start() < high for low, high in taken):
                found.append(_lines(answer, match, bare_target, int(match["line"]), match["last"]))
        found.sort(key=lambda c: c.start)
    return found


def _bare_target(paths: Collection[str]) -> str | None:
    return STDIN_PATH if STDIN_PATH in paths else None


def _citation(answer: str, match: re.Match[str], path: str) -> Citation:
    if match["page"] is not None:
        page, page_last = int(match["page"]), match["page_last"]
        line, last = match["page_line"], match["page_line_last"]
        return Citation(
            match.group(), path, match.start(), match.end(), int(line) if line else None,
            int(last or line) if line else None, page, int(page_last) if page_last else page,
            _quote(answer, match.start(), match.end()), claim_of(answer, match.start()),
        )
    if match["line"] is not None:
        return _lines(answer, match, path, int(match["line"]), match["last"])
    return _lines(answer, match, path, int(match["word_line"]), match["word_last"])


def _lines(answer: str, match: re.Match[str], path: str, line: int, last: str | None) -> Citation:
    end = int(last) if last else line
    return Citation(
        match.group(), path, match.start(), match.end(), line, max(line, end),
        quote=_quote(answer, match.start(), match.end()), claim=claim_of(answer, match.start()),
    )


def _quote(answer: str, start: int, end: int) -> str | None:
    """A quote right after the citation (past a closing backtick), else one right before it."""
    after = end + 1 if answer[end : end + 1] == "`" else end
    found = _QUOTE_AFTER.match(answer, after)
    if found and (found["q1"] or found["q2"] or found["q3"]):
        return found["q1"] or found["q2"] or found["q3"]
    line_start = answer.rfind("\n", 0, start) + 1
    before = answer[line_start : start - 1 if answer[start - 1 : start] == "`" else start]
    found = _QUOTE_BEFORE.search(before)
    return (found["q1"] or found["q2"]) if found else None


def claim_of(answer: str, at: int) -> str:
    """The sentence (within its line, list marks dropped) holding offset `at`, clipped."""
    line_start = answer.rfind("\n", 0, at) + 1
    line_end = answer.find("\n", at)
    line = answer[line_start : len(answer) if line_end == -1 else line_end]
    offset = at - line_start
    begin = 0
    for boundary in _SENTENCE_END.finditer(line):
        if boundary.start() > offset:
            line = line[: boundary.start()]
            break
        begin = boundary.end()
    claim = _LIST_MARK.sub("", line[begin:]).strip()
    return claim if len(claim) <= CLAIM_CHARS else claim[: CLAIM_CHARS - 1] + "…"
