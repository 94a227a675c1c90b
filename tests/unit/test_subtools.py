"""The sub-LLM's corpus tools: `read` takes only what it returns, even from a mapped document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rlm_cli.corpus.readers as readers
import rlm_cli.subtools as subtools
from rlm_cli.corpus import LazyCorpus, MappedDocument
from rlm_cli.subtools import run_tool
from tests.unit.ingest_helpers import run, write_tree

LINES = [f"row {number:04d} " + "x" * (number % 7) for number in range(1, 3001)]


@pytest.fixture()
def never_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any read of a whole document, the way the tool used to read."""

    def refuse(self: object, *_: object) -> str:
        raise AssertionError("the whole document was read")

    monkeypatch.setattr(MappedDocument, "text", property(refuse))
    monkeypatch.setattr(LazyCorpus, "read", refuse)


@pytest.fixture()
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny scan blocks and read windows, so reads cross block and window boundaries."""
    monkeypatch.setattr(readers, "BLOCK", 64)
    monkeypatch.setattr(readers, "_NEWLINE_REACH", 8)
    monkeypatch.setattr(subtools, "_WINDOW", 50)


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # inputs named relatively keep relative paths


def mapped(tmp_path: Path, text: str) -> LazyCorpus:
    write_tree(tmp_path, {"big.log": text})
    corpus = run(["big.log"], tmp_path, mmap_threshold=100).corpus
    assert corpus.documents[0].mapped
    return corpus


def read(corpus: LazyCorpus, **arguments: object) -> str:
    return run_tool(corpus, "read", json.dumps(arguments))


def test_a_line_range_of_a_mapped_document_is_read_without_loading_it(
    tmp_path: Path, never_whole: None, small_blocks: None
) -> None:
    corpus = mapped(tmp_path, "\n".join(LINES) + "\n")
    got = read(corpus, path="big.log", start_line=1500, end_line=1503)
    assert got == "\n".join(f"{n}: {LINES[n - 1]}" for n in range(1500, 1504))
    assert read(corpus, path="big.log", start_line=2999) == f"2999: {LINES[2998]}\n3000: {LINES[2999]}"
    assert read(corpus, path="big.log", end_line=2) == f"1: {LINES[0]}\n2: {LINES[1]}"


def test_line_numbers_agree_with_grep(tmp_path: Path, small_blocks: None) -> None:
    text = "first\r\nsecond \x0c still second\nthird\n\n" + "filler\n" * 20 + "last, no newline"
    corpus = mapped(tmp_path, text)
    match = corpus.grep("last")[0]
    assert read(corpus, path="big.log", start_line=match.line_no) == f"25: {match.line}"
    assert read(corpus, path="big.log", start_line=1, end_line=4) == (
        "1: first\n2: second \x0c still second\n3: third\n4: "
    )


def test_a_read_without_a_range_is_capped_and_says_how_long_the_document_is(
    tmp_path: Path, never_whole: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(subtools, "RESULT_LIMIT", 100)
    text = "\n".join(LINES) + "\n"
    corpus = mapped(tmp_path, text)
    got = read(corpus, path="big.log")
    assert got.startswith(text[:100] + "\n... [cut at 100 characters: big.log has ")
    assert f"{len(text.encode()):,} bytes" in got and "start_line and end_line" in got
    assert corpus.documents[0].known_length is None  # not even scanned for its length


def test_a_long_range_is_cut_with_where_to_go_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subtools, "RESULT_LIMIT", 60)
    corpus = mapped(tmp_path, "\n".join(LINES) + "\n")
    got = read(corpus, path="big.log", start_line=10, end_line=100)
    assert got == (
        f"10: {LINES[9]}\n11: {LINES[10]}\n12: {LINES[11]}\n"
        "... [cut at 60 characters after line 12; continue with start_line=13]"
    )


def test_small_documents_edges_and_errors(tmp_path: Path) -> None:
    write_tree(tmp_path / "proj", {"a.py": "one\ntwo\nthree\n", "b.txt": "solo"})
    corpus = run(["proj"], tmp_path).corpus
    assert read(corpus, path="proj/a.py") == "one\ntwo\nthree\n"
    assert read(corpus, path="proj/a.py", start_line=2, end_line=9) == "2: two\n3: three"
    assert read(corpus, path="proj/b.txt", start_line=1) == "1: solo"
    assert read(corpus, path="proj/a.py", start_line=4) == "(no lines: proj/a.py has fewer than 4 lines)"
    assert read(corpus, path="proj/a.py", start_line=3, end_line=2).startswith("(no lines: end_line 2")
    assert read(corpus, path="nope.py").startswith("Error: KeyError:")
