"""Inputs below the mapping threshold held once: the worker's str made in place, the host's view
streamed, ingest measuring a large file a slice at a time. Same text, same answers as before."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import rlm_cli.corpus.lazy as lazy
import rlm_cli.corpus.memory as memory
import rlm_cli.ingest.decode as decode
from rlm_cli.citations import check_answer
from rlm_cli.corpus import Corpus, Document, MappedDocument, load_manifest
from rlm_cli.corpus.filled import filled
from rlm_cli.ingest.documents import FileSlices
from tests.unit.ingest_helpers import run, write_tree

REPO = Path(__file__).resolve().parents[2]


class Text(str):
    pass


@pytest.mark.parametrize("parts", [
    ["plain ", "ascii"], ["caf\xe9 ", "cr\xe8me"], ["\u20ac 3", ", \ufffd bad"], ["emoji \U0001f600", " and \xe9 \u20ac"],
    [], ["", ""], ['{"k": ', '"v\u20ac"}'],
])
def test_filled_holds_the_joined_text_and_behaves_as_a_str(parts: list[str]) -> None:
    text = "".join(parts)
    made = filled(Text, lambda: iter(parts))
    assert type(made) is Text
    assert made == text and len(made) == len(text) and hash(made) == hash(text) and {text: 1}[made] == 1
    assert made.isascii() == text.isascii() and made.encode() == text.encode() and made[1:-1] == text[1:-1]
    assert re.findall(r"\w+", made) == re.findall(r"\w+", text)
    if text.startswith("{"):
        assert json.loads(made) == {"k": "v\u20ac"}


@pytest.mark.parametrize("second", [["abcd"], ["ab"], ["ab\u20ac"], ["abc", "d"]])
def test_filled_refuses_pieces_that_change_between_readings(second: list[str]) -> None:
    """Longer or wider pieces are refused before they are written (past the buffer's end)."""
    readings = iter([["abc"], second])
    with pytest.raises(ValueError, match="changed"):
        filled(Text, lambda: next(readings))


def test_a_file_rewritten_between_the_two_readings_is_read_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "log.txt").write_text("plain ascii text\n")
    manifest = run([str(tmp_path / "log.txt")], tmp_path).manifest_path
    monkeypatch.setattr(memory, "_FILL_FROM", 0)
    real = memory._joined_pieces
    readings = []

    def rewritten_after_the_first_reading(*args: Any) -> Any:
        readings.append(1)
        if len(readings) == 2:
            (tmp_path / "log.txt").write_text("wider \u20ac text, and more\n")  # read up to its ingested size
        return real(*args)

    monkeypatch.setattr(memory, "_joined_pieces", rewritten_after_the_first_reading)
    context = load_manifest(manifest)
    assert isinstance(context, Corpus) and context.startswith("wider \u20ac")


def _corpus_both_ways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sources: list[str]) -> tuple[Corpus, Corpus]:
    manifest = run(sources, tmp_path).manifest_path
    joined = load_manifest(manifest)
    monkeypatch.setattr(memory, "_FILL_FROM", 0)
    made = load_manifest(manifest)
    assert isinstance(joined, Corpus) and isinstance(made, Corpus)
    return joined, made


def test_a_corpus_read_in_place_equals_the_joined_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Pieces are read 1 MiB at a time: a multi-byte character and a bad byte sit on the boundary.
    big = "x" * (1024 * 1024 - 1) + "\u20ac line two\r\nthird \U0001f600"
    write_tree(tmp_path / "repo", {
        "big.txt": big.encode() + b"\r\nbad \xff byte, no newline at the end",
        "a.md": "caf\xe9\r\n", "empty.txt": "", "c.log": b"\xe9t\xe9 in cp1252\n" * 3,
    })
    joined, made = _corpus_both_ways(tmp_path, monkeypatch, [str(tmp_path / "repo")])
    assert str.__eq__(made, joined) and made._layout == joined._layout
    assert made.files == joined.files and made.read("repo/big.txt") == joined.read("repo/big.txt")
    assert [str(doc) for doc in made.documents] == [str(doc) for doc in joined.documents]
    assert isinstance(made["repo/a.md"], Document) and made["repo/a.md"] == "caf\xe9\r\n"
    assert made.grep("line two")[0].line_no == joined.grep("line two")[0].line_no == 1
    assert "\ufffd byte" in made and made.count("\r\n") == joined.count("\r\n")


def test_a_single_input_read_in_place_is_its_text_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "log.txt").write_bytes(b"\xef\xbb\xbfline 1\nline 2")  # BOM dropped, no newline at the end
    joined, made = _corpus_both_ways(tmp_path, monkeypatch, [str(tmp_path / "log.txt")])
    assert made == joined == "line 1\nline 2" and made.lines()[1] == "line 2" and made.splitlines() == ["line 1", "line 2"]


def test_loading_a_large_input_holds_its_text_once(tmp_path: Path) -> None:
    """Peak memory of the worker's load: the text once plus pieces (a str subclass made by copying
    the decoded text peaked at twice the input)."""
    size = 96 * 1024 * 1024
    (tmp_path / "log.txt").write_bytes(b"2025-03-14 INFO request ok status=200\n" * (size // 38))
    manifest = run([str(tmp_path / "log.txt")], tmp_path).manifest_path
    script = textwrap.dedent(f"""
        from pathlib import Path
        from rlm_cli.corpus import Corpus, load_manifest
        def status(key):
            return int(next(line for line in open("/proc/self/status") if line.startswith(key)).split()[1]) * 1024
        Path("/proc/self/clear_refs").write_text("5")  # the high-water mark starts from here
        before = status("VmHWM")
        context = load_manifest({str(manifest)!r})
        assert isinstance(context, Corpus) and len(context) == {size // 38 * 38}
        print(status("VmHWM") - before)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    grown = int(done.stdout)
    assert grown < 1.15 * size, f"loading {size:,} bytes grew the peak by {grown:,}"


def _host_view(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str | bytes]) -> tuple[object, object]:
    write_tree(tmp_path / "repo", files)
    result = run([str(tmp_path / "repo")], tmp_path)
    loaded = result.corpus
    monkeypatch.setattr(lazy, "_STREAM_FROM", 0)
    streamed = run([str(tmp_path / "repo")], tmp_path).corpus
    return loaded, streamed


def test_the_hosts_view_streams_a_large_document_with_the_same_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = "".join(f"2025-03-14 line {n} status=200\r\n" for n in range(1, 70_000)) + "FATAL deploy failed\nlast, no newline"
    loaded, streamed = _host_view(tmp_path, monkeypatch, {
        "app.log": log, "bom.txt": b"\xef\xbb\xbfwith a BOM\n", "wide.txt": "\ufeffutf-16 stays loaded\n".encode("utf-16"),
    })
    assert isinstance(streamed.document("repo/app.log"), MappedDocument)  # type: ignore[attr-defined]
    assert isinstance(streamed.document("repo/bom.txt"), MappedDocument)  # type: ignore[attr-defined]
    assert isinstance(streamed.document("repo/wide.txt"), Document)  # type: ignore[attr-defined]
    assert not streamed.mapped  # type: ignore[attr-defined]  # the worker still holds a str
    assert len(streamed) == len(loaded)  # type: ignore[arg-type]
    assert streamed.describe() == loaded.describe()  # type: ignore[attr-defined]
    assert str(streamed.document("repo/bom.txt")[:]) == "with a BOM\n"  # type: ignore[attr-defined]
    assert [m.line_no for m in streamed.grep("FATAL")] == [m.line_no for m in loaded.grep("FATAL")] == [70_000]  # type: ignore[attr-defined]
    answer = 'It failed (repo/app.log:70000 "FATAL deploy failed"; repo/app.log:5 "line 4 status").'
    assert [(c.status, c.cite) for c in check_answer(answer, streamed).citations] == [  # type: ignore[arg-type]
        (c.status, c.cite) for c in check_answer(answer, loaded).citations  # type: ignore[arg-type]
    ]


@pytest.mark.parametrize("data", [
    b"", b"plain ascii\n" * 5, "caf\xe9 cr\xe8me \u20ac \U0001f600\n".encode() * 3, b"stray \xff byte in utf-8 text \xe2\x82\xac\n" * 3,
    "\ufffd real replacement \ufffd\n".encode() * 4, "\xe9t\xe9 \xe0 la plage, tr\xe8s cher\n".encode("cp1252") * 40,
])
def test_measuring_a_file_in_slices_equals_measuring_it_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    whole = decode.measure(data, None)
    (tmp_path / "f").write_bytes(data)
    monkeypatch.setattr(decode, "SLICE", 7)  # slices end inside characters and inside U+FFFD
    fd = os.open(tmp_path / "f", os.O_RDONLY)
    try:
        assert decode.measure(FileSlices(fd, len(data)), None) == whole
    finally:
        os.close(fd)
