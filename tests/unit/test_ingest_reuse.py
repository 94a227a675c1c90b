"""The ingest cache: unchanged files keep their earlier entries, anything else is read again."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from rlm_cli.ingest import IngestOptions, IngestResult, ingest, reuse
from tests.unit.ingest_helpers import make_pdf, write_tree


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small tree; files written just now count as settled (see test_a_file_changed_just_now...)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(reuse, "RACY_NS", -10**12)
    return write_tree(tmp_path / "tree", {
        "a.py": "print('a')\n", "docs/b.md": "# b\n", "docs/c.txt": "c " * 100, "blob.bin": b"\x00\x01" * 50,
        "paper.pdf": make_pdf(["a page"]),
    })


def again(tmp_path: Path, sources: list[str], **options: object) -> IngestResult:
    spool = tmp_path / f"spool{len(list(tmp_path.glob('spool*')))}"
    return ingest(sources, IngestOptions(**options), spool_dir=spool, reuse=tmp_path / "reuse", stdin=io.BytesIO(b"piped\n"))  # type: ignore[arg-type]


def documents(result: IngestResult) -> list[dict[str, object]]:
    """The manifest's entries, a PDF's text file (in each run's own spool) left out."""
    entries = json.loads(result.manifest_path.read_text())["documents"]
    return [{k: v for k, v in entry.items() if k != "file" or "spool" not in str(v)} for entry in entries]


def test_a_second_ingest_of_an_unchanged_tree_reads_no_text_file_again(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = again(tmp_path, ["tree"])
    assert first.reused == 0
    opened: list[str] = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda path, *a, **k: (opened.append(str(path)), real_open(path, *a, **k))[1])
    second = again(tmp_path, ["tree"])
    assert second.reused == 3  # the PDF's text lives in the run's spool: it is parsed again
    assert documents(second) == documents(first) and second.summary() == first.summary()
    assert not {"a.py", "b.md", "c.txt"} & {Path(name).name for name in opened}


def test_a_changed_added_or_removed_file_is_seen(tree: Path, tmp_path: Path) -> None:
    again(tmp_path, ["tree"])
    (tree / "a.py").write_text("print('A')\n")  # the same size: the change time tells
    (tree / "new.txt").write_text("new\n")
    (tree / "docs" / "b.md").unlink()
    result = again(tmp_path, ["tree"])
    assert result.reused == 1  # c.txt only
    paths = {d.path for d in result.corpus.documents}
    assert "tree/new.txt" in paths and "tree/docs/b.md" not in paths
    assert result.corpus.read("tree/a.py") == "print('A')\n"


def test_other_sources_or_options_do_not_share_entries(tree: Path, tmp_path: Path) -> None:
    again(tmp_path, ["tree"])
    assert again(tmp_path, ["tree"], exclude=("*.md",)).reused == 0
    assert again(tmp_path, ["tree/a.py"]).reused == 0
    assert again(tmp_path, ["tree"]).reused == 3


def test_stdin_is_always_read_and_a_broken_cache_is_ignored(tree: Path, tmp_path: Path) -> None:
    assert again(tmp_path, ["-", "tree"]).reused == again(tmp_path, ["-", "tree"]).reused == 0
    again(tmp_path, ["tree"])
    for path in (tmp_path / "reuse").glob("*.json"):
        path.write_text(json.dumps({"version": 1, "files": []}))
    assert again(tmp_path, ["tree"]).reused == 0
    assert again(tmp_path, ["tree"]).reused == 3


def test_a_file_changed_just_before_the_ingest_is_not_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Within the file system's timestamp granularity a second change could leave the stamp alike.
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path / "tree", {"a.py": "print('a')\n"})
    again(tmp_path, ["tree"])
    assert again(tmp_path, ["tree"]).reused == 0
