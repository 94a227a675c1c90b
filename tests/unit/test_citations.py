"""Citations in an answer: found as models write them, checked against the input the host holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rlm_cli.citations import check_answer, find_citations
from rlm_cli.corpus import LazyCorpus, lazy_corpus

AUTH = "".join(f"# filler {n}\n" for n in range(1, 40)) + "def check_token(token):\n    if not verify(token):\n        raise Denied()\n"
README = "# Service\n\nTokens expire after   15 minutes\nof inactivity.\n"


def _entry(tmp_path: Path, path: str, text: str, **extra: Any) -> dict[str, Any]:
    file = tmp_path / path.replace("/", "_").replace("<", "").replace(">", "")
    file.write_text(text, encoding="utf-8")
    return {"path": path, "file": str(file), "chars": len(text), "size": len(text.encode()), **extra}


@pytest.fixture
def repo(tmp_path: Path) -> LazyCorpus:
    """Two files, as `rlm ask ./repo` gives the host."""
    return lazy_corpus([_entry(tmp_path, "src/auth.py", AUTH), _entry(tmp_path, "README.md", README)])


def _statuses(answer: str, corpus: LazyCorpus) -> list[tuple[str, str]]:
    return [(item.cite, item.status) for item in check_answer(answer, corpus).citations]


def test_a_quoted_citation_at_the_right_line_verifies(repo: LazyCorpus) -> None:
    checked = check_answer('Tokens are checked in `check_token` (src/auth.py:40 "def check_token(token):").', repo)
    [item] = checked.citations
    assert (item.status, item.path, item.line_start, item.line_end) == ("verified", "src/auth.py", 40, 40)
    assert item.citation.quote == "def check_token(token):"
    assert item.text == "def check_token(token):"
    assert item.file is not None and item.file.endswith("src_auth.py")
    assert checked.answer.endswith('(src/auth.py:40 "def check_token(token):").')


def test_a_quote_a_few_lines_off_still_verifies_and_a_range_is_read(repo: LazyCorpus) -> None:
    assert _statuses('- A bad token is refused: src/auth.py:39-40: "raise Denied()"', repo) == [("src/auth.py:39-40", "verified")]


def test_a_quote_found_elsewhere_moves_the_citation_and_corrects_the_answer(repo: LazyCorpus) -> None:
    checked = check_answer('Unverified tokens raise `Denied` (src/auth.py:12 "raise Denied()").', repo)
    [item] = checked.citations
    assert (item.status, item.line_start) == ("moved", 42)
    assert item.note == "cited as src/auth.py:12; the quote is at src/auth.py:42"
    assert checked.answer == 'Unverified tokens raise `Denied` (src/auth.py:42 "raise Denied()").'
    assert item.to_json_dict()["cited"] == "src/auth.py:12"


def test_a_quote_in_another_file_moves_there(repo: LazyCorpus) -> None:
    [item] = check_answer('Sessions time out ("of inactivity." src/auth.py:3).', repo).citations
    assert (item.status, item.cite) == ("moved", "README.md:4")


def test_an_invented_path_or_line_is_unsupported(repo: LazyCorpus) -> None:
    checked = check_answer("Keys rotate daily (src/keys.py:8). Login is at src/auth.py:400.", repo)
    assert [(item.status, item.note) for item in checked.citations] == [
        ("unsupported", "no file src/keys.py in the input"),
        ("unsupported", "line 400 is past the end of src/auth.py (42 lines)"),
    ]
    assert checked.answer == "Keys rotate daily (src/keys.py:8). Login is at src/auth.py:400."  # flagged, never dropped
    assert [item.citation.claim for item in checked.citations] == ["Keys rotate daily (src/keys.py:8).", "Login is at src/auth.py:400."]


def test_a_quote_nowhere_in_the_input_is_unsupported(repo: LazyCorpus) -> None:
    [item] = check_answer('Admins bypass the check (src/auth.py:41 "if user.is_admin:").', repo).citations
    assert (item.status, item.note) == ("unsupported", "the quote is not in src/auth.py")


def test_quotes_with_odd_whitespace_and_curly_quotes_match(repo: LazyCorpus) -> None:
    answer = "Tokens last a quarter hour (README.md:3 \u201cTokens   expire after 15\nminutes of inactivity\u201d)."
    assert _statuses(answer.replace("\n", " "), repo) == [("README.md:3", "verified")]
    answer = 'README.md:3 says "expire after 15 minutes of  inactivity" ... and more'
    assert _statuses(answer, repo) == [("README.md:3", "verified")]


def test_things_that_only_look_like_citations_are_left_alone(repo: LazyCorpus) -> None:
    answer = "It listens on example.com:8080 and 10.0.0.1:443 at 12:30 (see https://host.io:80/x.py:3)."
    assert find_citations(answer, repo.files) == []


def test_the_forms_models_write(repo: LazyCorpus) -> None:
    answer = "See `src/auth.py:40`, src/auth.py#L41-L42, auth.py line 40, and README.md, lines 3-4."
    assert [(c.path, c.line_start, c.line_end) for c in find_citations(answer, repo.files)] == [
        ("src/auth.py", 40, 40), ("src/auth.py", 41, 42), ("auth.py", 40, 40), ("README.md", 3, 4),
    ]
    assert [status for _, status in _statuses(answer, repo)] == ["verified"] * 4


def test_pdf_page_citations(tmp_path: Path) -> None:
    pages = ["--- page 1 of 2 ---\nIntroduction\nWe study retries.\n", "--- page 2 of 2 ---\nResults\nAccuracy rose to 91%.\n"]
    corpus = lazy_corpus([_entry(tmp_path, "paper.pdf", "".join(pages), kind="pdf", pages=[0, len(pages[0])])])
    answer = (
        'Accuracy rose (paper.pdf#page=2 "Accuracy rose to 91%"). The study is about retries '
        '(paper.pdf#page=2 "We study retries"). Its first line: paper.pdf#page=2:1. Nothing on paper.pdf#page=7 or paper.pdf#page=2-3.'
    )
    checked = check_answer(answer, corpus).citations
    assert [(item.status, item.page) for item in checked] == [("verified", 2), ("moved", 1), ("verified", 2), ("unsupported", 7), ("unsupported", 2)]
    assert checked[0].text == "Accuracy rose to 91%."
    assert checked[2].text == "Results"
    assert checked[3].note == "page 7 is past the end of paper.pdf (2 pages)"
    assert checked[4].note == "page 3 is past the end of paper.pdf (2 pages)"


def test_a_single_piped_document_is_cited_by_line_number(tmp_path: Path) -> None:
    log = "".join(f"INFO request {n}\n" for n in range(1, 100)) + "ERROR disk quota exceeded\n"
    corpus = lazy_corpus([_entry(tmp_path, "<stdin>", log, kind="stdin")])
    answer = 'The deploy failed on a full disk (line 100: "ERROR disk quota exceeded"); see also lines 1-2 and line 900.'
    checked = check_answer(answer, corpus).citations
    assert [(item.cite, item.status) for item in checked] == [("line 100", "verified"), ("lines 1-2", "verified"), ("line 900", "unsupported")]
    assert checked[0].file is None  # nothing on disk to link to
    assert corpus.grep("quota")[0].cite == "line 100"


def test_grep_matches_chunks_and_documents_carry_their_citation(repo: LazyCorpus, tmp_path: Path) -> None:
    assert [m.cite for m in repo.grep(r"raise|Tokens")] == ["src/auth.py:42", "README.md:3"]
    assert [chunk.cite for chunk in repo.chunks(400, by="files")] == ["src/auth.py:1-32", "src/auth.py:33-42", "README.md:1-4"]
    assert repo.documents[0].cite(40, 42) == "src/auth.py:40-42"
    # Each chunk's citation verifies against the input it came from, its first line quoted.
    for chunk in repo.chunks(90, overlap=20):
        first = chunk.text.split("===\n")[-1].split("\n")[0].strip() if chunk.cite else ""
        if first and "," not in chunk.cite:
            assert _statuses(f'{chunk.cite} "{first}"', repo) == [(chunk.cite, "verified")]


def test_a_mapped_log_is_cited_by_line_read_block_by_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rlm_cli.corpus.readers.BLOCK", 100)  # many blocks, lines cut across none
    log = "".join(f"INFO request {n} served\n" for n in range(1, 500)) + "ERROR disk quota exceeded\n"
    entry = _entry(tmp_path, "big.log", log, mmap=True, chars=None)
    corpus = lazy_corpus([entry, _entry(tmp_path, "notes.txt", "nothing here\n")])
    [match] = corpus.grep("quota")
    assert match.cite == "big.log:500"
    answer = f'The disk filled up ({match.cite} "{match.line}"); it was first slow at big.log:200 "request 251 served".'
    checked = check_answer(answer, corpus)
    assert [(item.status, item.cite, item.text) for item in checked.citations] == [
        ("verified", "big.log:500", "ERROR disk quota exceeded"),
        ("moved", "big.log:251", "INFO request 251 served"),
    ]
    assert "big.log:251" in checked.answer


def test_a_range_stops_at_the_end_and_a_long_one_is_searched_not_read(repo: LazyCorpus, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _statuses("The check ends the file (src/auth.py:38-99).", repo) == [("src/auth.py:38-42", "verified")]
    monkeypatch.setattr("rlm_cli.citations.verify.MAX_SPAN", 2)
    assert _statuses('The whole file checks tokens (src/auth.py:1-42 "raise Denied()").', repo) == [("src/auth.py:1-42", "verified")]
