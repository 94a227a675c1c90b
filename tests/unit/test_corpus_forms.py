"""The two forms of `context`: a real str in memory, the lazy mapped text past the threshold.

Inputs are built as the worker builds them: ingest writes the manifest, load_manifest reads it.
"""

from __future__ import annotations

import io
import json
import pickle
import random
import re
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import rlm_cli.corpus.readers as readers
from rlm_cli.corpus import (
    Corpus,
    Document,
    LazyCorpus,
    MappedDocument,
    WholeTextRefused,
    lazy_hint,
    load_manifest,
)
from tests.unit.ingest_helpers import run, write_tree

PIPED = '{"users": [{"name": "Ada", "age": 36}, {"name": "Linus", "age": 28}]}\n'
TREE = {
    "a.md": "    # Notes\n    Ada wrote the first program.\n",
    "src/b.py": "def add(x, y):\n    return x + y\n",
    "c.txt": "Linus: 28\nAda: 36\n",
}


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # inputs named relatively keep relative paths


def worker_context(tmp_path: Path, sources: list[str], stdin: bytes | None = None, **options: object) -> Corpus | LazyCorpus:
    """The `context` the REPL worker would hold for these sources."""
    return load_manifest(run(sources, tmp_path, stdin=stdin, **options).manifest_path)


@pytest.fixture()
def piped(tmp_path: Path) -> Corpus:
    context = worker_context(tmp_path, ["-"], stdin=PIPED.encode())
    assert isinstance(context, Corpus)
    return context


@pytest.fixture()
def tree(tmp_path: Path) -> Corpus:
    write_tree(tmp_path / "proj", TREE)
    context = worker_context(tmp_path, ["proj"])
    assert isinstance(context, Corpus)
    return context


def joined(files: dict[str, str], prefix: str) -> str:
    return "\n".join(f"=== {prefix}{path} ===\n{text}" for path, text in sorted(files.items()))


def test_a_piped_document_is_its_text_as_a_str(piped: Corpus) -> None:
    assert isinstance(piped, str) and piped == PIPED
    assert json.loads(piped)["users"][1]["name"] == "Linus"
    assert re.findall(r'"name": "(\w+)"', piped) == ["Ada", "Linus"]
    assert [m.group(1) for m in re.finditer(r'"age": (\d+)', piped)] == ["36", "28"]
    assert re.split(r"[{}]", piped) == re.split(r"[{}]", PIPED)
    assert re.search(r"Linus", piped).start() == PIPED.index("Linus")  # type: ignore[union-attr]
    assert io.StringIO(piped).readline() == PIPED
    assert textwrap.dedent(piped) == PIPED
    assert piped[2:7] == PIPED[2:7] and piped[-1] == "\n" and piped[::-1] == PIPED[::-1]
    assert type(piped[2:7]) is str and type(piped.upper()) is str and type(piped + "!") is str
    assert f"<{piped}>" == f"<{PIPED}>" and "x" + piped == "x" + PIPED
    assert str(piped) == PIPED and piped.splitlines() == PIPED.splitlines()
    assert len(repr(piped)) < 200 and repr(piped).startswith(f"<Corpus: str of {len(PIPED)} chars, 1 document, ")
    assert piped.files == ["<stdin>"] and [d.path for d in piped.documents] == ["<stdin>"]
    assert piped.documents[0] == PIPED and isinstance(piped.documents[0], Document)


def test_a_directory_reads_as_the_joined_str_with_headers(tree: Corpus) -> None:
    text = joined(TREE, "proj/")
    assert isinstance(tree, str) and tree == text and len(tree) == len(text)
    assert re.findall(r"^=== (.+) ===$", tree, re.MULTILINE) == ["proj/a.md", "proj/c.txt", "proj/src/b.py"]
    assert re.findall(r"(\w+): (\d+)", tree) == [("Linus", "28"), ("Ada", "36")]
    assert io.StringIO(tree).readlines() == text.splitlines(keepends=True)
    assert textwrap.dedent(tree) == textwrap.dedent(text)
    with pytest.raises(json.JSONDecodeError):  # not JSON: the same error a plain str gives
        json.loads(tree)
    assert tree["proj/c.txt"] == TREE["c.txt"] and tree["c.txt"].path == "proj/c.txt"
    assert tree[0] == "=" and tree[4:13] == "proj/a.md"
    assert tree.locate(tree.index("def add")) == ("proj/src/b.py", 0)


def test_documents_iterate_as_strs_with_paths(tree: Corpus) -> None:
    documents = tree.documents
    assert len(documents) == 3 and [type(doc) for doc in documents] == [Document] * 3
    assert {doc.path: str(doc) for doc in documents} == {f"proj/{path}": text for path, text in TREE.items()}
    assert "\n".join(documents[0:2]) == TREE["a.md"] + "\n" + TREE["c.txt"]
    assert [re.findall(r"Ada", doc) for doc in documents] == [["Ada"], ["Ada"], []]
    assert documents[-1].grep("return")[0].line_no == 2 and documents[-1].chunks(16)[0].path == "proj/src/b.py"
    assert documents[0] is documents[0]  # one object while in use, not a new copy each time
    assert repr(documents).startswith("[<Document 'proj/a.md': ") and len(repr(documents[0])) < 80


def test_a_str_context_pickles_with_its_methods(tree: Corpus) -> None:
    copy = pickle.loads(pickle.dumps(tree))
    assert copy == tree and type(copy) is Corpus and copy.files == tree.files
    assert copy["src/b.py"] == TREE["src/b.py"] and copy.grep("Ada")[1].path == "proj/c.txt"
    document = pickle.loads(pickle.dumps(tree.documents[1]))
    assert document == TREE["c.txt"] and document.path == "proj/c.txt"


def test_str_and_lazy_forms_describe_which_they_are(tree: Corpus, tmp_path: Path) -> None:
    assert not tree.mapped and "`context` is a str (" in tree.describe()
    write_tree(tmp_path, {"big.log": "line\n" * 400})
    lazy = worker_context(tmp_path, ["big.log"], mmap_threshold=100)
    assert isinstance(lazy, LazyCorpus) and not isinstance(lazy, str) and lazy.mapped
    assert "`context` is a lazy memory-mapped text (2.0 KiB), not a str" in lazy.describe()


@pytest.fixture()
def mapped(tmp_path: Path) -> LazyCorpus:
    write_tree(tmp_path, {"big.log": "".join(f"{n} naïve café ☃\n" for n in range(300))})
    context = worker_context(tmp_path, ["big.log"], mmap_threshold=100)
    assert isinstance(context, LazyCorpus)
    return context


REFUSED: dict[str, Callable[[LazyCorpus], object]] = {
    ".split()": lambda c: c.split(),
    ".split(',')": lambda c: c.split(","),
    ".lower()": lambda c: c.lower(),
    ".strip()": lambda c: c.strip(),
    "str()": str,
    "f-string": lambda c: f"{c}",
    ".text": lambda c: c.text,
    "+": lambda c: c + "x",
}


@pytest.mark.parametrize("operation", REFUSED)
def test_a_mapped_context_refuses_to_load_whole_with_one_clear_error(mapped: LazyCorpus, operation: str) -> None:
    with pytest.raises(WholeTextRefused) as raised:
        REFUSED[operation](mapped)
    message = str(raised.value)
    assert message.startswith("context is a lazy memory-mapped text (")
    assert "context.grep(pattern)" in message and "context.iter_chunks(max_chars)" in message
    assert "str(context[a:b])" in message


IDIOMS: dict[str, Callable[[LazyCorpus], object]] = {
    "re.findall": lambda c: re.findall(r"café", c),  # type: ignore[arg-type]
    "re.finditer": lambda c: list(re.finditer(r"café", c)),  # type: ignore[arg-type]
    "re.split": lambda c: re.split(r"\n", c),  # type: ignore[arg-type]
    "re.search": lambda c: re.search(r"café", c),  # type: ignore[arg-type]
    "json.loads": lambda c: json.loads(c),  # type: ignore[arg-type]
    "io.StringIO": lambda c: io.StringIO(c),  # type: ignore[arg-type]
    "textwrap.dedent": lambda c: textwrap.dedent(c),  # type: ignore[arg-type]
    "str.join": lambda c: "".join([c]),  # type: ignore[list-item]
}


@pytest.mark.parametrize("idiom", IDIOMS)
def test_str_only_functions_on_a_mapped_context_get_the_hint(mapped: LazyCorpus, idiom: str) -> None:
    with pytest.raises(TypeError) as raised:
        IDIOMS[idiom](mapped)
    hint = lazy_hint(raised.value)
    assert hint is not None and "not a str" in hint and "context.grep(pattern)" in hint
    assert lazy_hint(TypeError("unsupported operand type(s) for +: 'int' and 'str'")) is None


def test_a_mapped_context_keeps_its_lazy_operations(mapped: LazyCorpus) -> None:
    text = "".join(f"{n} naïve café ☃\n" for n in range(300))
    assert len(mapped) == len(text) and mapped[100:180] == text[100:180] and "299 naïve" in mapped
    assert mapped.count("☃") == 300 and mapped.find("42 na") == text.find("42 na")
    assert [m.line_no for m in mapped.grep(r"^29\d ")] == list(range(291, 301))
    assert "".join(mapped.iter_chunks(1000)) == text
    assert len(mapped.splitlines()) == 300 and mapped.splitlines()[42] == "42 naïve café ☃"  # a lazy sequence
    assert hasattr(mapped, "split") and not hasattr(mapped, "decode")
    document = mapped.documents[0]
    assert isinstance(document, MappedDocument) and document.path == "big.log"
    with pytest.raises(WholeTextRefused, match=r"document 'big.log' is a lazy memory-mapped text .* its \.grep"):
        document.split()


def test_the_worker_adds_the_hint_to_a_cell_error(mapped: LazyCorpus) -> None:
    from rlm_cli.sandbox.repl import Repl

    repl = Repl(mapped, lambda kind, args: {}, 20_000)
    error = repl.run("import re\nre.findall('café', context)", timeout=10).error
    assert error is not None
    assert "TypeError: expected string or bytes-like object, got 'LazyCorpus'" in error
    assert error.endswith("or str(context[a:b]) for a slice.") and "Hint: `context` is a lazy" in error
    assert repl.run("len(context.grep('café'))", timeout=10).value_repr == "300"


@pytest.fixture()
def fast_switching() -> Iterator[None]:
    """Switch threads very often, so unsafe shared state shows up."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def test_a_mapped_document_reads_right_from_eight_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast_switching: None,
) -> None:
    monkeypatch.setattr(readers, "BLOCK", 256)  # many blocks, each decoded on demand
    monkeypatch.setattr(readers, "_NEWLINE_REACH", 64)  # every block ends after a newline
    lines = [f"{n:05d} ünïcödé {'x' * (n % 13)} ☃\n" for n in range(3000)]
    text = "".join(lines)
    write_tree(tmp_path, {"big.log": text})
    context = worker_context(tmp_path, ["big.log"], mmap_threshold=100)
    document = context.documents[0]
    assert isinstance(document, MappedDocument)
    wrong: list[str] = []
    start = threading.Barrier(8)

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        start.wait()
        for _ in range(150):
            a = rng.randrange(len(text))
            b = min(len(text), a + rng.randrange(1, 700))
            if document[a:b] != text[a:b]:
                wrong.append(f"slice {a}:{b}")
            needle = lines[rng.randrange(len(lines))][:5]
            if document.find(needle) != text.find(needle):
                wrong.append(f"find {needle}")
            if rng.random() < 0.05 and [m.line_no for m in document.grep(f"^{needle}")] != [int(needle) + 1]:
                wrong.append(f"grep {needle}")

    threads = [threading.Thread(target=reader, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not wrong, wrong[:5]


def test_documents_read_through_a_small_cache_stay_right_from_eight_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast_switching: None,
) -> None:
    files = {f"f{n}.txt": f"file {n}\n" * (50 + n) for n in range(12)}
    write_tree(tmp_path / "many", files)
    monkeypatch.setattr(readers, "_CACHE_CHARS", 2000)  # a few documents fit: constant eviction
    corpus = run(["many"], tmp_path).corpus  # the host's lazy view reads documents on demand
    wrong: list[str] = []
    start = threading.Barrier(8)

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        start.wait()
        for _ in range(300):
            name = f"f{rng.randrange(12)}.txt"
            if corpus[f"many/{name}"] != files[name]:
                wrong.append(name)

    threads = [threading.Thread(target=reader, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not wrong, wrong[:5]


def test_large_files_are_decoded_from_a_mapping_to_the_same_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "_MAP_FROM", 1)  # every non-empty file takes the mapping path
    files: dict[str, str | bytes] = {"u.txt": "naïve ☃ café\n" * 50, "l.txt": "café crème brûlée\n".encode("cp1252") * 40, "e.txt": ""}
    write_tree(tmp_path / "enc", files)
    context = worker_context(tmp_path, ["enc"])
    assert context["u.txt"] == files["u.txt"] and context["l.txt"] == "café crème brûlée\n" * 40
    assert context["e.txt"] == "" and isinstance(context, Corpus)
