"""The `context` object in both forms (the str Corpus the worker holds, the host's lazy view):
str behaviour, lookup, grep, chunks, the description, mapped documents."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

import rlm_cli.corpus.readers as corpus_module
from rlm_cli.corpus import Chunk, Corpus, Document, LazyCorpus, MappedDocument, load_manifest
from tests.unit.ingest_helpers import run, write_tree

AnyCorpus = Corpus | LazyCorpus

FILES = {
    "src/app.py": "import os\n\ndef main():\n    return os.getcwd()\n",
    "src/util.py": "def helper():\n    pass  # TODO tidy\n",
    "README.md": "# Title\r\nSome text\r\nTODO: write more\r\n",
    "notes.txt": "aaaa\nbaaab\nno newline at the end",
}


@pytest.fixture(params=["str", "lazy"])
def corpus(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AnyCorpus:
    """The worker's str Corpus (built from the manifest), or the host's lazy view of the same input."""
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path / "proj", FILES)
    result = run(["proj"], tmp_path)
    return load_manifest(result.manifest_path) if request.param == "str" else result.corpus


@pytest.fixture()
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stream in tiny pieces so every operation crosses piece and block boundaries."""
    monkeypatch.setattr(corpus_module, "_PIECE", 7)
    monkeypatch.setattr(corpus_module, "BLOCK", 16)
    monkeypatch.setattr(corpus_module, "_NEWLINE_REACH", 8)


def reference(corpus: AnyCorpus) -> str:
    """The joined text, built from each document's own file."""
    texts = [Path(document.file).read_bytes().decode() for document in corpus.documents]
    if len(texts) == 1:  # a single document is its text alone
        return texts[0]
    return "\n".join(f"=== {path} ===\n{text}" for path, text in zip(corpus.files, texts, strict=True))


def test_joined_text_and_str_behaviour(corpus: AnyCorpus, small_pieces: None) -> None:
    text = reference(corpus)
    assert isinstance(corpus, str) == isinstance(corpus, Corpus)
    assert str(corpus) == corpus.text == text and len(corpus) == len(text)
    for key in (slice(0, 10), slice(5, -5), slice(-30, None), slice(None, None, 7), slice(None, None, -3), slice(40, 10, -2), slice(9, 3)):
        assert corpus[key] == text[key], key
    assert corpus[0] == text[0] and corpus[-1] == text[-1]
    with pytest.raises(IndexError):
        corpus[len(text)]
    for needle in ("TODO", "aa", "=== proj/src", "\n\n", "a\nb", "missing"):
        assert (needle in corpus) == (needle in text)
        assert corpus.count(needle) == text.count(needle), needle
        assert corpus.find(needle) == text.find(needle), needle
    assert corpus.count("a", 10, 80) == text.count("a", 10, 80)
    assert corpus.count("") == text.count("")
    assert corpus.splitlines() == text.splitlines()
    assert corpus.splitlines(keepends=True) == text.splitlines(keepends=True)
    assert "".join(corpus) == text
    assert corpus.upper() == text.upper() and corpus.split("\n") == text.split("\n")
    assert "> " + corpus == "> " + text and corpus + "!" == text + "!"
    assert f"{corpus}" == text


def test_files_documents_and_lookup(corpus: AnyCorpus) -> None:
    assert corpus.files == ["proj/README.md", "proj/notes.txt", "proj/src/app.py", "proj/src/util.py"]
    assert [type(document) for document in corpus.documents] == [Document] * 4
    assert corpus.read("proj/src/app.py") == corpus["proj/src/app.py"] == FILES["src/app.py"]
    assert corpus["proj/src/app.py"].path == "proj/src/app.py"
    assert corpus["util.py"] == FILES["src/util.py"]  # a unique path ending is enough
    with pytest.raises(KeyError, match=r"did you mean proj/src/app\.py"):
        corpus.read("proj/src/apps.py")
    path, offset = corpus.locate(corpus.find("def helper"))
    assert (path, offset) == ("proj/src/util.py", 0)


def test_grep_reports_path_line_and_line(corpus: AnyCorpus) -> None:
    matches = corpus.grep("TODO")
    assert [(match.path, match.line_no, match.line) for match in matches] == [
        ("proj/README.md", 3, "TODO: write more"),  # the \r of a CRLF line is not shown
        ("proj/src/util.py", 2, "    pass  # TODO tidy"),
    ]
    assert str(matches) == "proj/README.md:3: TODO: write more\nproj/src/util.py:2:     pass  # TODO tidy"
    assert repr(matches[0]) == "proj/README.md:3: TODO: write more"
    assert matches.paths == ["proj/README.md", "proj/src/util.py"]
    assert [match.line_no for match in corpus.grep("todo", ignore_case=True, paths="*.py")] == [2]
    assert [match.line_no for match in corpus.grep("^", paths=["proj/notes.txt"])] == [1, 2, 3]
    assert str(corpus.grep("zzz")) == "(no matches for 'zzz')"
    with pytest.raises(ValueError, match="bad regular expression"):
        corpus.grep("(")


def test_grep_context_lines_and_cap(corpus: AnyCorpus) -> None:
    match = corpus.grep("return", context_lines=2)[0]
    assert (match.before, match.line, match.after) == (["", "def main():"], "    return os.getcwd()", [])
    assert str(match).splitlines() == [
        "proj/src/app.py-2- ", "proj/src/app.py-3- def main():", "proj/src/app.py:4:     return os.getcwd()",
    ]
    capped = corpus.grep(r"\w", max_matches=3)
    assert len(capped) == 3 and capped.truncated
    assert "stopped at max_matches=3" in repr(capped)
    assert not corpus.grep("TODO", max_matches=2).truncated


def test_grep_across_blocks_of_a_mapped_document(tmp_path: Path, small_pieces: None) -> None:
    lines = [f"row {number:03d}" + (" HIT" if number % 40 == 7 else "") for number in range(200)]
    text = "\n".join(lines) + "\n"
    write_tree(tmp_path, {"big.log": text})
    corpus = run([str(tmp_path / "big.log")], tmp_path, mmap_threshold=100).corpus
    assert corpus.documents[0].mapped and isinstance(corpus.documents[0], MappedDocument)
    matches = corpus.grep("HIT", context_lines=2)
    assert [match.line_no for match in matches] == [8, 48, 88, 128, 168]
    for match in matches:
        number = match.line_no - 1
        assert match.before == lines[number - 2 : number] and match.after == lines[number + 1 : number + 3]
    joined = reference(corpus)
    assert len(corpus) == len(joined) and corpus[333:444] == joined[333:444]
    assert corpus.count("row") == 200 and corpus.find("row 150") == joined.find("row 150")


def test_mapped_document_counts_characters_not_bytes(tmp_path: Path, small_pieces: None) -> None:
    text = "".join(f"{number} naïve ☃ café\n" for number in range(100))
    write_tree(tmp_path, {"u.log": text})
    document = run([str(tmp_path / "u.log")], tmp_path, mmap_threshold=100).corpus.documents[0]
    assert document.mapped and len(document) == len(text) < document.size
    assert document[100:250] == text[100:250] and document[-5:] == text[-5:]
    assert document.count("☃") == 100 and document[:].splitlines() == text.splitlines()
    assert document.head(12) == text[:12]


def test_chunks_by_lines_are_exact_slices_that_know_their_source(corpus: AnyCorpus) -> None:
    text = reference(corpus)
    chunks = corpus.chunks(60)
    assert all(isinstance(chunk, Chunk) and isinstance(chunk, str) for chunk in chunks)
    assert "".join(chunks) == text
    assert all(len(chunk) <= 60 and chunk == text[chunk.start : chunk.end] for chunk in chunks)
    assert all(chunk.endswith("\n") for chunk in chunks[:-1])
    assert chunks[0].path == "proj/README.md" and chunks[0].number == 0
    assert chunks[0].index(chunks[0][:3]) == 0  # still a str: its methods work
    assert any(len(chunk.paths) > 1 for chunk in chunks)
    assert repr(chunks[0]).startswith("<Chunk 0: proj/README.md")
    assert json.dumps(chunks[:1]) == json.dumps([text[: chunks[0].end]])
    assert list(corpus.iter_chunks(60)) == chunks


def test_chunk_overlap_repeats_whole_lines(corpus: AnyCorpus) -> None:
    chunks = corpus.chunks(50, overlap=20)
    text = reference(corpus)
    for first, second in itertools.pairwise(chunks):
        assert second.start < first.end and first.end - second.start <= 20
        assert second.start == 0 or text[second.start - 1] == "\n" or first.end - second.start == 20
    assert chunks[-1].end == len(text)
    with pytest.raises(ValueError):
        corpus.chunks(10, overlap=10)
    with pytest.raises(ValueError):
        corpus.chunks(0)


def test_chunks_by_files_pack_whole_documents(corpus: AnyCorpus) -> None:
    chunks = corpus.chunks(140, by="files")
    assert [chunk.paths for chunk in chunks] == [
        ("proj/README.md", "proj/notes.txt"), ("proj/src/app.py", "proj/src/util.py"),
    ]
    assert [chunk.paths for chunk in corpus.chunks(100, by="files")] == [(path,) for path in corpus.files]
    split = corpus.chunks(40, by="files")  # app.py (71 characters with its header) is cut by lines
    assert "".join(split) == reference(corpus)
    assert [chunk.path for chunk in split].count("proj/src/app.py") == 2
    with pytest.raises(ValueError, match="by must be"):
        corpus.chunks(10, by="pages")


def test_document_chunks_and_grep(corpus: AnyCorpus) -> None:
    document = corpus.document("proj/src/app.py")
    assert document.chunks(24) == ["import os\n\ndef main():\n", "    return os.getcwd()\n"]
    assert [chunk.path for chunk in document.chunks(24)] == ["proj/src/app.py"] * 2
    assert document.grep("main")[0].line_no == 3
    assert repr(document) == "<Document 'proj/src/app.py': 46 B, text, utf-8>"


def test_summary_and_repr(corpus: AnyCorpus) -> None:
    assert corpus.summary() == {"documents": 4, "bytes": sum(len(text.encode()) for text in FILES.values()), "skipped": 0}
    shown = f"str of {len(corpus):,} chars, 4 documents, 1"
    assert repr(corpus).startswith(f"<{type(corpus).__name__}: {shown}")
    assert len(repr(corpus)) < 200


def test_description_of_a_small_input_suggests_reading_it_whole(corpus: AnyCorpus) -> None:
    text = corpus.describe()
    assert text.startswith("`context` holds 4 documents (4 text files): ")
    assert f"`context` is a str ({len(corpus):,} characters): every document as a `=== path ===` line" in text
    assert "`for doc in context.documents` gives each document as a str with .path" in text
    assert "print(context) and read it whole" in text
    assert "Encodings: utf-8 (4)." in text
    assert "  src/ (2 files, " in text and "Start of proj/README.md:\n  # Title" in text


def test_description_stays_bounded_for_fifty_thousand_files(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text("hello\n" * 20_000)
    entries = [
        {"path": f"pkg{number % 50}/mod{number % 7}/file{number}.py", "file": str(tmp_path / "one.txt"),
         "encoding": "utf-8", "size": 120_000, "kind": "text", "chars": 120_000}
        for number in range(50_000)
    ]
    manifest = {"version": 1, "documents": entries, "skipped": [{"path": "x.bin", "reason": "binary"}] * 300}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    corpus = load_manifest(path, lazy=True)  # the host's view: nothing read
    for limit in (4000, 1500):
        text = corpus.describe(limit)
        assert len(text) <= limit
        assert "50,000 documents" in text and "Skipped 300 inputs: binary (300)." in text
        assert "print(context) and read it whole" not in text
    assert "pkg0/ (" in corpus.describe()


def test_description_of_a_mapped_input_explains_offsets(tmp_path: Path) -> None:
    write_tree(tmp_path, {"big.log": "line\n" * 1000})
    corpus = run([str(tmp_path / "big.log")], tmp_path, mmap_threshold=100).corpus
    text = corpus.describe()
    assert "characters counted on first use" in text and "is memory-mapped" in text
    assert "`context` is a lazy memory-mapped text (4.9 KiB), not a str:" in text
    assert "use context.grep(pattern), context.iter_chunks(max_chars), or str(context[a:b])" in text
    assert corpus.documents[0].known_length is None  # describing did not scan the file
