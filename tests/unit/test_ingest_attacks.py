"""Hostile inputs against ingestion, each as "attack -> expected outcome": links out of a walked
tree, credential folders, undecodable names, endless or huge stdin, a full disk, hostile PDFs."""

from __future__ import annotations

import io
import json
import os
import threading
import time
from pathlib import Path

import pytest

from rlm_cli.corpus import load_manifest
from rlm_cli.errors import InputError
from rlm_cli.ingest import spool as spool_module
from rlm_cli.ingest.mounts import MAX_BINDS, exact_roots
from tests.unit.ingest_helpers import run, write_tree
from tests.unit.sandbox_helpers import descendants, wait_until


def reasons(result: object) -> dict[str, str]:
    return {item.path: item.reason for item in result.skipped}  # type: ignore[attr-defined]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A user's home with keys in the usual places, beside a repository."""
    return write_tree(tmp_path / "home", {
        ".ssh/id_ed25519": "PRIVATE KEY ssh\n", ".aws/credentials": "aws_secret=1\n",
        ".config/gcloud/token.json": "gcloud-token\n", ".netrc": "password hunter2\n",
        ".config/app.toml": "colour = 'blue'\n", "notes.txt": "my notes\n",
    })


def test_a_link_out_of_a_repository_is_skipped_not_followed(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path / "repo", {"README.md": "hello\n"})
    os.symlink("../home", tmp_path / "repo/docs")
    os.symlink("../home/notes.txt", tmp_path / "repo/notes.txt")
    result = run(["repo"], tmp_path)
    assert result.corpus.files == ["repo/README.md"]
    assert reasons(result) == {"repo/docs/": "link leaves source", "repo/notes.txt": "link leaves source"}
    assert not any(root.startswith(str(home)) for root in result.roots)


def test_follow_links_still_never_walks_credentials(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path / "repo", {"README.md": "hello\n"})
    os.symlink("../home", tmp_path / "repo/docs")
    result = run(["repo"], tmp_path, follow_links=True)
    assert sorted(result.corpus.files) == ["repo/README.md", "repo/docs/.config/app.toml", "repo/docs/notes.txt"]
    assert "PRIVATE KEY" not in result.corpus.text and "hunter2" not in result.corpus.text
    # the followed folder is readable, its keys are not: it is bound entry by entry around them
    assert str(home / ".ssh") not in result.roots and str(home / "notes.txt") in result.roots


def test_walking_a_home_skips_every_credential_folder_and_hides_it_from_the_worker(home: Path, tmp_path: Path) -> None:
    result = run([str(home)], tmp_path)
    skipped = reasons(result)
    for secret in (".ssh/", ".aws/", ".config/gcloud/", ".netrc"):
        assert skipped[f"{home}/{secret}"] == "credentials (name it as a source to read it)"
    assert sorted(Path(file).name for file in result.corpus.files) == ["app.toml", "notes.txt"]
    assert str(home) not in result.roots
    assert not [root for root in result.roots if "/.ssh" in root or "/.aws" in root or "gcloud" in root or ".netrc" in root]
    assert str(home / ".config" / "app.toml") in result.roots


def test_a_credential_folder_named_as_a_source_is_read(home: Path, tmp_path: Path) -> None:
    result = run([str(home / ".ssh")], tmp_path)
    assert "PRIVATE KEY ssh" in result.corpus.text


def test_a_file_name_that_is_not_utf8_is_read_and_shown_escaped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path / "tree", {"ok.txt": "fine\n"})
    (tmp_path / "tree").joinpath(os.fsdecode(b"caf\xe9.txt")).write_text("latin-1 name\n")
    (tmp_path / "tree").joinpath(os.fsdecode(b"bad\xff")).mkdir()
    (tmp_path / "tree").joinpath(os.fsdecode(b"bad\xff/in.txt")).write_text("inside\n")
    result = run(["tree"], tmp_path)
    assert sorted(result.corpus.files) == ["tree/bad\\xff/in.txt", "tree/caf\\xe9.txt", "tree/ok.txt"]
    reloaded = load_manifest(result.manifest_path)  # the worker's view: the real names still open
    assert reloaded.read("tree/caf\\xe9.txt") == "latin-1 name\n"
    assert reloaded.read("tree/bad\\xff/in.txt") == "inside\n"


def test_stdin_past_max_stdin_stops_with_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"stdin is larger than max_stdin \(1,000 bytes\)"):
        run(["-"], tmp_path, stdin=b"x" * 5000, max_stdin=1000)


def test_spooling_stops_before_the_disk_is_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = spool_module.shutil.disk_usage
    monkeypatch.setattr(spool_module.shutil, "disk_usage", lambda path: real(path)._replace(free=spool_module.FREE_RESERVE + 10))
    with pytest.raises(InputError, match="no room to spool stdin"):
        run(["-"], tmp_path, stdin=b"x" * 5000)


def test_endless_stdin_stops_at_the_timeout(tmp_path: Path) -> None:
    started = time.monotonic()
    with open("/dev/zero", "rb") as zero, pytest.raises(InputError, match=r"--timeout 0.3 s passed while reading stdin"):
        from rlm_cli.ingest import IngestOptions, ingest

        ingest(["-"], IngestOptions(timeout=0.3), spool_dir=tmp_path / "spool", stdin=zero)
    assert time.monotonic() - started < 3


def test_a_stalled_stdin_pipe_stops_at_the_timeout(tmp_path: Path) -> None:
    reader, writer = os.pipe()
    try:
        with os.fdopen(reader, "rb", buffering=0, closefd=False) as stream, pytest.raises(InputError, match="--timeout"):
            from rlm_cli.ingest import IngestOptions, ingest

            ingest(["-"], IngestOptions(timeout=0.3), spool_dir=tmp_path / "spool", stdin=stream)  # type: ignore[arg-type]
    finally:
        os.close(reader)
        os.close(writer)


def _shared_stream_pdf(repeats: int, pages: int) -> bytes:
    """A small PDF whose pages all share one content stream of `repeats` text operations."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"), NameObject("/BaseFont"): NameObject("/Helvetica")})
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 12 Tf " + b"1 0 0 1 72 720 Tm (x) Tj " * repeats + b"ET")
    shared = writer._add_object(stream.flate_encode())
    for _ in range(pages):
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
        page[NameObject("/Contents")] = shared
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _bomb_pdf(chars: int) -> bytes:
    """A small PDF whose one text operation decompresses to `chars` characters."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"), NameObject("/BaseFont"): NameObject("/Helvetica")})
    page = writer.add_blank_page(612, 792)
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 12 Tf (" + b"A" * chars + b") Tj ET")
    page.replace_contents(stream.flate_encode())
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_pdf_that_parses_forever_is_skipped_as_too_slow_and_the_rest_is_read(tmp_path: Path) -> None:
    slow = _shared_stream_pdf(repeats=20_000, pages=20)  # under 10 KB, about 20 s of parsing
    assert len(slow) < 10_000
    write_tree(tmp_path / "in", {"slow.pdf": slow, "notes.txt": "still read\n"})
    before = descendants(os.getpid())
    started = time.monotonic()
    result = run([str(tmp_path / "in")], tmp_path, pdf_timeout=0.5)
    assert time.monotonic() - started < 5
    assert reasons(result) == {f"{tmp_path}/in/slow.pdf": "pdf too slow"}
    assert result.corpus.read(f"{tmp_path}/in/notes.txt") == "still read\n"
    assert wait_until(lambda: descendants(os.getpid()) <= before), "the PDF child outlived ingestion"


def test_a_pdf_that_decompresses_huge_is_skipped_as_too_large(tmp_path: Path) -> None:
    bomb = _bomb_pdf(30_000_000)  # 30 KB on disk, 30 MB of text operators
    write_tree(tmp_path / "in", {"bomb.pdf": bomb, "notes.txt": "still read\n"})
    result = run([str(tmp_path / "in")], tmp_path, pdf_memory=100_000_000)
    assert reasons(result) == {f"{tmp_path}/in/bomb.pdf": "pdf too large"}


def test_a_pdf_past_the_run_timeout_stops_the_run(tmp_path: Path) -> None:
    write_tree(tmp_path / "in", {"slow.pdf": _shared_stream_pdf(repeats=20_000, pages=20)})
    with pytest.raises(InputError, match="--timeout 1 s passed while parsing"):
        run([str(tmp_path / "in" / "slow.pdf")], tmp_path, timeout=1.0)


def test_many_scattered_inputs_never_widen_to_a_common_folder(tmp_path: Path) -> None:
    files = [str(tmp_path / f"d{number}" / "f.txt") for number in range(MAX_BINDS + 6)]
    for file in files:
        write_tree(Path(file).parent, {"f.txt": f"{file}\n"})
    write_tree(tmp_path / "sibling", {"secret.txt": "not an input\n"})
    listed = tmp_path / "list"
    listed.write_text("\n".join(files))
    from rlm_cli.ingest import IngestOptions, ingest

    result = ingest([], IngestOptions(), spool_dir=tmp_path / "spool", paths_from=str(listed), stdin=io.BytesIO())
    assert result.roots == (str(tmp_path / "spool"),)  # a snapshot: the inputs alone
    manifest = json.loads(result.manifest_path.read_text())
    assert all(entry["file"].startswith(str(tmp_path / "spool") + "/") for entry in manifest["documents"])
    assert result.corpus.read(files[-1]) == files[-1] + "\n"
    wanted = [*files[:5], str(tmp_path / "spool")]
    assert sorted(exact_roots(wanted, files[:5])) == sorted(wanted)


def test_a_file_appended_during_the_run_keeps_its_ingested_size_in_the_manifest(tmp_path: Path) -> None:
    write_tree(tmp_path, {"app.log": "one\ntwo\n"})
    result = run([str(tmp_path / "app.log")], tmp_path)
    with open(tmp_path / "app.log", "a") as log:
        log.write("three\n")
    entry = json.loads(result.manifest_path.read_text())["documents"][0]
    assert (entry["size"], entry["chars"]) == (8, 8)  # what the reader must stop at


def test_ingest_keeps_running_threads_out_of_the_host(tmp_path: Path) -> None:
    """No thread or process of ingestion survives it (the PDF child included)."""
    write_tree(tmp_path / "in", {"a.pdf": _bomb_pdf(10), "b.txt": "text\n"})
    threads = threading.active_count()
    before = descendants(os.getpid())
    run([str(tmp_path / "in")], tmp_path)
    assert threading.active_count() == threads
    assert wait_until(lambda: descendants(os.getpid()) <= before)
