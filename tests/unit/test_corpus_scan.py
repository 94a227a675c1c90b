"""Byte scans of memory-mapped documents give what the standard library finds in the text.

Files are tiny and the scan windows and blocks are shrunk, so every line, literal and block
boundary case happens: CRLF, long lines, lines crossing windows and blocks, no final newline,
multi-byte UTF-8.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest

import rlm_cli.corpus.lines as lines
import rlm_cli.corpus.readers as readers
import rlm_cli.corpus.scan as scan
from rlm_cli.corpus import Corpus, LazyCorpus, Match, WholeTextRefused, load_manifest
from rlm_cli.corpus.literals import prefilter
from tests.unit.ingest_helpers import run, write_tree

LINES = [
    "2025-03-14 INFO start naïve café ☃ 日本語",
    "2025-03-14 ERROR 500 lock timeout on table users\r",  # CRLF
    "x" * 700 + " ERROR 404 after a long run of x" + "y" * 300,  # past a block and a window
    "",
    "plain line done\r",
    "WARN status=200 Status=201 STATUS=202 done",
    "\ufb01le with a ligature and a Kelvin sign \u212a and \u017f ERROR 7",
    "error lower case, café again",
    "\u0130stanbul: a capital letter that lowercases to two characters",
    "last line, no newline at the end: ERROR 999",
]
TEXT = "\n".join(LINES)  # no final newline
PATTERNS: list[tuple[str, bool]] = [
    ("ERROR", False), (r"ERROR \d+", False), ("error", True), ("café", False), ("ERROR|WARN", False),
    ("status=20[01]", True), ("done$", False), (r"^\S+ INFO", False), (r"\d{3} ", False),
    ("ligature", True), ("K AND S", True), ("[ab]c", False), ("日本", False), ("missing", False),
    (r"(?:lock|table) (?:timeout|users)", False), ("y{5}$", False), ("é a", True), ("istanbul", True),
]


@pytest.fixture(params=["anchored", "whole needle"])
def tiny_scans(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows and blocks of a few bytes, so lines and literals cross them; literals found
    through their rarest character, or as whole needles."""
    monkeypatch.setattr(scan, "_RARE_EVERY", 1 if request.param == "anchored" else 10**9)
    monkeypatch.setattr(scan, "WINDOW", 64)
    monkeypatch.setattr(readers, "WINDOW", 64)
    monkeypatch.setattr(readers, "BLOCK", 256)
    monkeypatch.setattr(readers, "_NEWLINE_REACH", 64)
    monkeypatch.setattr(lines, "WINDOW", 64)
    monkeypatch.setattr(lines, "_STRIDE", 16)


def contexts(tmp_path: Path, text: str) -> tuple[LazyCorpus, Corpus]:
    """The mapped form and the str form of one file holding `text`."""
    write_tree(tmp_path, {"log.txt": text})
    mapped = load_manifest(run([str(tmp_path / "log.txt")], tmp_path, mmap_threshold=100).manifest_path)
    loaded = load_manifest(run([str(tmp_path / "log.txt")], tmp_path).manifest_path)
    assert isinstance(mapped, LazyCorpus) and mapped.mapped and isinstance(loaded, Corpus)
    return mapped, loaded


def standard(text: str, pattern: str, ignore_case: bool, context_lines: int) -> list[tuple[object, ...]]:
    """What a line-by-line re.search over str.split finds."""
    regex = re.compile(pattern, re.MULTILINE | (re.IGNORECASE if ignore_case else 0))
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    shown = [line.removesuffix("\r") for line in lines]
    found = []
    for number, line in enumerate(lines):
        if (hit := regex.search(line)) is not None:
            before = shown[max(0, number - context_lines) : number]
            found.append((number + 1, shown[number], hit.start(), before, shown[number + 1 : number + 1 + context_lines]))
    return found


def plain(matches: list[Match]) -> list[tuple[object, ...]]:
    return [(m.line_no, m.line, m.column, m.before, m.after) for m in matches]


@pytest.mark.parametrize("final_newline", [False, True])
@pytest.mark.parametrize(("pattern", "ignore_case"), PATTERNS)
def test_grep_on_a_mapped_file_finds_what_the_standard_library_finds(
    tmp_path: Path, tiny_scans: None, pattern: str, ignore_case: bool, final_newline: bool,
) -> None:
    text = TEXT + ("\n" if final_newline else "")
    mapped, loaded = contexts(tmp_path, text)
    for context_lines in (0, 2):
        expected = standard(text, pattern, ignore_case, context_lines)
        for form in (mapped, loaded):
            result = form.grep(pattern, ignore_case=ignore_case, context_lines=context_lines)
            assert plain(result) == expected, (type(form).__name__, pattern, context_lines)


def test_the_byte_scan_is_the_path_taken_for_literal_patterns() -> None:
    """The prefilter exists where it pays, and is refused where it would be wrong."""
    flags = re.MULTILINE
    assert prefilter(re.compile("ERROR", flags)) == (("ERROR",), False)
    assert prefilter(re.compile(r"ERROR \d+|WARN", flags)) == (("ERROR ", "WARN"), False)
    assert prefilter(re.compile("lock timeout", flags | re.IGNORECASE)) == (("meout",), True)
    for no_prefilter in (r"\d+", "a\nb", r"a\sb", "[^x]yz", r"\Aabc", "(?s)a.b", "x*", "(?i:abc)"):
        assert prefilter(re.compile(no_prefilter, flags)) is None, no_prefilter


def test_a_line_longer_than_the_newline_reach_is_matched_whole(tmp_path: Path, tiny_scans: None) -> None:
    """A block cut inside a line (no newline near its end) still gives the whole line, also on
    the decoded path a pattern without a prefilter takes."""
    text = "short\n" + "ab" * 400 + " needle 42 " + "cd" * 400 + "\nafter\n"
    mapped, _ = contexts(tmp_path, text)
    for pattern in ("needle", r"\d{2}\b"):
        [match] = mapped.grep(pattern)
        assert match.line_no == 2 and match.line == text.split("\n")[1], pattern


def test_count_find_and_in_on_a_mapped_file_answer_as_str(tmp_path: Path, tiny_scans: None) -> None:
    mapped, loaded = contexts(tmp_path, TEXT)
    document = mapped.documents[0]
    for needle in ("ERROR", "café", "日本語", "xx", "x" * 65, "status", "\r\n", "missing", "done\r\nWARN", "", "E"):
        assert loaded.count(needle) == TEXT.count(needle) and loaded.count(needle, 5, -5) == TEXT.count(needle, 5, -5)
        for form in (mapped, document):
            assert form.count(needle) == TEXT.count(needle), needle
            assert form.find(needle) == TEXT.find(needle), needle
            assert (needle in form) == (needle in TEXT), needle


def same_as_list(lazy: Sequence[str], expected: list[str]) -> None:
    """len, every index (both signs), slices and iteration as the list gives them."""
    assert len(lazy) == len(expected) and list(lazy) == expected
    for number in range(-len(expected), len(expected)):
        assert lazy[number] == expected[number], number
    for key in (slice(0, 3), slice(2, -2), slice(-3, None), slice(None, None, 3), slice(5, 1, -2), slice(4, 4), slice(1, 10**6)):
        assert lazy[key] == expected[key], key
    for wrong in (len(expected), -len(expected) - 1):
        with pytest.raises(IndexError):
            lazy[wrong]


@pytest.mark.parametrize("final_newline", [False, True])
def test_lines_of_a_mapped_file_are_a_lazy_sequence_that_behaves_as_the_list(
    tmp_path: Path, tiny_scans: None, final_newline: bool,
) -> None:
    text = TEXT + ("\n" if final_newline else "")
    mapped, loaded = contexts(tmp_path, text)
    document = mapped.documents[0]
    for form in (mapped, document):
        assert not isinstance(form.splitlines(), list)  # never the whole list
        same_as_list(form.splitlines(), text.splitlines())
        same_as_list(form.lines(), text.splitlines())
        same_as_list(form.splitlines(keepends=True), text.splitlines(True))
        same_as_list(form.split("\n"), text.split("\n"))
    same_as_list(loaded.lines(), text.splitlines())  # the str form's lines() is lazy too
    same_as_list(loaded.documents[0].lines(), text.splitlines())


def test_lines_of_a_mapped_corpus_of_several_files_cross_headers(tmp_path: Path, tiny_scans: None) -> None:
    files = {"a/big.log": TEXT, "a/small.txt": "one\r\ntwo\n", "b/tail.log": "x\n" * 40 + "end"}
    write_tree(tmp_path, files)
    context = load_manifest(run([str(tmp_path / "a"), str(tmp_path / "b")], tmp_path, mmap_threshold=100).manifest_path)
    assert isinstance(context, LazyCorpus) and context.mapped
    text = "\n".join(f"=== {path} ===\n{body}" for path, body in zip(context.files, [files[f"{p}"] for p in ("a/big.log", "a/small.txt", "b/tail.log")], strict=True))
    assert context[: len(text)] == text and len(context) == len(text)
    same_as_list(context.splitlines(), text.splitlines())
    same_as_list(context.split("\n"), text.split("\n"))
    with pytest.raises(WholeTextRefused, match="split"):
        context.split()


def test_a_list_of_patterns_finds_lines_matching_any(tmp_path: Path, tiny_scans: None) -> None:
    mapped, loaded = contexts(tmp_path, TEXT)
    expected = standard(TEXT, "(?:lock timeout)|(?:café)|(?:ERROR \\d{3}$)", True, 0)
    assert expected
    for form in (mapped, loaded):
        assert plain(form.grep(["lock timeout", "café", r"ERROR \d{3}$"], ignore_case=True)) == expected
        with pytest.raises(ValueError, match="at least one str pattern"):
            form.grep([])


def test_the_hosts_description_reads_only_the_start_of_a_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The host never holds an input's text: describing it reads the first lines, not the file."""
    write_tree(tmp_path, {"big.log": "first line\n" + "line\n" * 50_000})
    host_view = run([str(tmp_path / "big.log")], tmp_path).corpus
    assert not host_view.mapped

    def whole_read(*_: object, **__: object) -> str:
        raise AssertionError("the whole document was read")

    monkeypatch.setattr(readers, "read_text", whole_read)
    description = host_view.describe()
    assert "Start of " in description and "  first line\n  line" in description
    assert f"{len('first line') + 1 + 5 * 50_000:,} characters" in description
