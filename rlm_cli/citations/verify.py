"""Checking citations against the ingested input: the path exists, the lines or page exist, and a
quote is found at (or within NEAR lines of) the cited place, whitespace normalised.

Each one comes out `verified`, `moved` (its quote is elsewhere: corrected) or `unsupported`.
Reads documents the way the host's lazy corpus does: a mapped log is streamed, never loaded.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass

from rlm_cli.citations.parse import Citation
from rlm_cli.corpus.cite import cite_lines, cite_pages
from rlm_cli.corpus.grep import Match
from rlm_cli.corpus.joined import AnyDocument, CorpusMethods

NEAR = 3  # lines a quote may sit from the cited place and still verify
_SHOWN_TEXT = 200  # characters of a cited line kept
_SEARCH_HITS = 200  # matches of a moved quote weighed to find the nearest
MAX_SPAN = 2_000  # lines of a cited range read to find its quote; past that the quote is searched for


@dataclass(frozen=True)
class Checked:
    """A citation after checking: its status, where it points now, and the cited line's text."""

    citation: Citation
    status: str  # "verified", "moved" or "unsupported"
    path: str
    line_start: int | None = None
    line_end: int | None = None
    page: int | None = None
    page_end: int | None = None
    text: str | None = None  # the cited (or found) line
    note: str = ""  # why it is unsupported, or where it was moved from
    file: str | None = None  # the file on disk, for links (None for piped input)

    @property
    def cite(self) -> str:
        """The citation as it stands after checking (corrected when moved)."""
        if self.page is not None:
            form = cite_pages(self.path, self.page, self.page_end)
            return form + (f":{self.line_start}" if self.line_start is not None else "")
        if self.line_start is None:
            return self.citation.written
        return cite_lines(self.path, self.line_start, self.line_end)

    def to_json_dict(self) -> dict[str, object]:
        """The `--json` citations item (and the trace's)."""
        return {
            "claim": self.citation.claim, "path": self.path, "line_start": self.line_start,
            "line_end": self.line_end, "page": self.page, "quote": self.citation.quote,
            "status": self.status, "cited": self.citation.written, "cite": self.cite,
            "text": self.text, "note": self.note or None, "file": self.file,
        }


def check_citation(citation: Citation, corpus: CorpusMethods) -> Checked:
    """Check one citation against the corpus."""
    pattern = quote_pattern(citation.quote)
    try:
        document = corpus.document(citation.path)
    except KeyError:
        found = _search_corpus(corpus, pattern, citation)
        return found or _unsupported(citation, citation.path, f"no file {citation.path} in the input")
    if citation.page is not None:
        return _verify_page(citation, document, pattern, corpus)
    assert citation.line_start is not None and citation.line_end is not None
    first, base = citation.line_start, max(1, citation.line_start - NEAR)
    window, count = read_lines(document, base, min(citation.line_end, first + MAX_SPAN) + NEAR)
    last = citation.line_end if count is None else min(citation.line_end, count)  # a range past the end stops there
    if first < 1 or first >= base + len(window):
        past = f"line {first} is past the end of {document.path} ({count or 0:,} lines)" if first >= 1 else "lines count from 1"
        return _elsewhere(citation, document, pattern, corpus) or _unsupported(citation, document.path, past, document)
    if pattern is None:
        return _checked(citation, document, first, last, window[first - base])
    text = "\n".join(window)
    hit = re.search(pattern, text)
    if hit is not None:
        return _checked(citation, document, first, last, window[text.count("\n", 0, hit.start())])
    return _elsewhere(citation, document, pattern, corpus) or _unsupported(
        citation, document.path, f"the quote is not in {document.path}", document,
    )


def _verify_page(citation: Citation, document: AnyDocument, pattern: str | None, corpus: CorpusMethods) -> Checked:
    page = citation.page or 0
    if not document.page_count:
        return _unsupported(citation, document.path, f"{document.path} has no pages (only PDFs do)", document)
    if not 1 <= page <= max(page, citation.page_end or page) <= document.page_count:
        past = max(page, citation.page_end or page)
        reason = f"page {past} is past the end of {document.path} ({document.page_count} pages)"
        return _elsewhere(citation, document, pattern, corpus) or _unsupported(citation, document.path, reason, document)
    lines = document.page(page).split("\n")
    line = citation.line_start
    if line is not None and not 1 <= line <= len(lines):
        return _unsupported(citation, document.path, f"page {page} of {document.path} has {len(lines)} lines", document)
    if pattern is not None:
        hit = re.search(pattern, "\n".join(lines))
        if hit is None:
            reason = f"the quote is not on page {page} of {document.path}"
            return _elsewhere(citation, document, pattern, corpus) or _unsupported(citation, document.path, reason, document)
        line_index = "\n".join(lines)[: hit.start()].count("\n")
    else:
        line_index = (line - 1) if line is not None else next((i for i, text in enumerate(lines) if text.strip()), 0)
    return Checked(
        citation, "verified", document.path, citation.line_start, citation.line_end, page, citation.page_end,
        text=_shown(lines[line_index]), file=link_file(document),
    )


def _elsewhere(citation: Citation, document: AnyDocument, pattern: str | None, corpus: CorpusMethods) -> Checked | None:
    """Where the quote is: inside a cited range too long to read whole (verified), else the
    nearest place in the cited document or anywhere in the input (moved); None when nowhere."""
    if pattern is None:
        return None
    hits = document.grep(pattern, max_matches=_SEARCH_HITS)
    if not hits:
        return _search_corpus(corpus, pattern, citation)
    first, last = citation.line_start, citation.line_end
    if first is None or last is None or citation.page is not None:
        return _moved(citation, document, hits[0])
    hit = min(hits, key=lambda match: max(first - match.line_no, match.line_no - last, 0))
    if first - NEAR <= hit.line_no <= last + NEAR:
        return _checked(citation, document, first, last, hit.line)
    return _moved(citation, document, hit)


def _search_corpus(corpus: CorpusMethods, pattern: str | None, citation: Citation) -> Checked | None:
    """The citation moved to the first place in the whole input that holds its quote."""
    if pattern is None:
        return None
    hits = corpus.grep(pattern, max_matches=1)
    return _moved(citation, corpus.document(hits[0].path), hits[0]) if hits else None


def _moved(citation: Citation, document: AnyDocument, hit: Match) -> Checked:
    if citation.page is not None and hit.page is not None:
        moved = Checked(citation, "moved", document.path, page=hit.page, text=_shown(hit.line), file=link_file(document))
    else:
        moved = Checked(citation, "moved", document.path, hit.line_no, hit.line_no, text=_shown(hit.line), file=link_file(document))
    return dataclasses.replace(moved, note=f"cited as {citation.written}; the quote is at {moved.cite}")


def _checked(citation: Citation, document: AnyDocument, first: int, last: int, text: str) -> Checked:
    return Checked(citation, "verified", document.path, first, last, text=_shown(text), file=link_file(document))


def _unsupported(citation: Citation, path: str, reason: str, document: AnyDocument | None = None) -> Checked:
    return Checked(
        citation, "unsupported", path, citation.line_start, citation.line_end, citation.page, citation.page_end,
        note=reason, file=link_file(document) if document is not None else None,
    )


def quote_pattern(quote: str | None) -> str | None:
    """A regular expression for a quote with any whitespace between its words; of a quote cut with
    an ellipsis, its longest piece. None when there is nothing worth searching for."""
    if not quote:
        return None
    piece = max(re.split(r"\.\.\.|…", quote), key=lambda part: len(part.strip()))
    words = piece.split()
    if len(" ".join(words)) < 3:
        return None
    return r"\s+".join(re.escape(word) for word in words)


def read_lines(document: AnyDocument, first: int, last: int) -> tuple[list[str], int | None]:
    """Lines first..last (from 1) of a document, read only as far as `last` (a mapped log is
    streamed block by block); and its line count when it ends before `last` (else None)."""
    lines: list[str] = []
    number, carry = 1, ""
    for _, piece in document._line_pieces():  # the same walk grep makes
        piece = carry + piece
        newlines = piece.count("\n")
        if number + newlines < first:
            number += newlines
            carry = piece[piece.rfind("\n") + 1 :]
            continue
        *complete, carry = piece.split("\n")
        for line in complete:
            if number >= first:
                lines.append(line.removesuffix("\r"))
            number += 1
            if number > last:
                return lines, None
    if carry:
        if first <= number <= last:
            lines.append(carry.removesuffix("\r"))
        number += 1
    return lines, number - 1


def link_file(document: AnyDocument) -> str | None:
    """The file a link to the document opens: the file read, the PDF itself, None for piped input."""
    if document.kind == "text":
        return os.path.abspath(document.file)
    if document.kind == "pdf" and os.path.isfile(document.path):
        return os.path.abspath(document.path)
    return None


def _shown(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _SHOWN_TEXT else text[: _SHOWN_TEXT - 1] + "…"
