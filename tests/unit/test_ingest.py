"""Ingestion rules on small trees the tests build: walking, gitignore, decoding, PDFs, stdin, errors."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlm_cli.corpus import load_manifest
from rlm_cli.errors import InputError
from rlm_cli.ingest import IngestOptions, ingest
from tests.unit.ingest_helpers import make_pdf, run, write_tree


def reasons(result) -> dict[str, str]:
    return {item.path: item.reason for item in result.skipped}


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git-like tree with nested .gitignore files, a negation and .git/info/exclude."""
    monkeypatch.chdir(tmp_path)
    return write_tree(tmp_path / "repo", {
        ".git/HEAD": "ref: refs/heads/main\n",
        ".git/info/exclude": "secret.txt\n",
        ".gitignore": "*.log\nbuild/\n",
        "app.py": "print('app')\n",
        "secret.txt": "excluded by info/exclude\n",
        "debug.log": "ignored\n",
        "build/out.txt": "ignored directory\n",
        "logs/.gitignore": "!keep.log\n",
        "logs/keep.log": "kept by a negation\n",
        "logs/drop.log": "still ignored\n",
        "docs/guide.md": "# Guide\n",
    })


def test_nested_gitignore_with_negation_and_info_exclude(repo: Path, tmp_path: Path) -> None:
    result = run(["repo"], tmp_path)
    assert result.corpus.files == [
        "repo/.gitignore", "repo/app.py", "repo/docs/guide.md", "repo/logs/.gitignore", "repo/logs/keep.log",
    ]
    skipped = reasons(result)
    assert skipped["repo/.git/"] == "version control"
    assert skipped["repo/build/"] == "ignored (.gitignore)"
    assert skipped["repo/debug.log"] == skipped["repo/logs/drop.log"] == "ignored (.gitignore)"
    assert skipped["repo/secret.txt"] == "ignored (.gitignore)"


def test_no_gitignore_reads_ignored_files_but_never_vcs(repo: Path, tmp_path: Path) -> None:
    files = run(["repo"], tmp_path, gitignore=False).corpus.files
    assert {"repo/debug.log", "repo/build/out.txt", "repo/secret.txt", "repo/logs/drop.log"} <= set(files)
    assert not any("/.git/" in path for path in files)


def test_rules_of_the_enclosing_repository_apply_below_it(repo: Path, tmp_path: Path) -> None:
    write_tree(repo, {"logs/sub/x.log": "ignored by the root .gitignore\n", "logs/sub/a.txt": "a\n"})
    result = run(["repo/logs/sub"], tmp_path)
    assert result.corpus.files == ["repo/logs/sub/a.txt"]


def test_a_directory_named_explicitly_is_read_even_if_ignored(repo: Path, tmp_path: Path) -> None:
    assert run(["repo/build"], tmp_path).corpus.files == ["repo/build/out.txt"]


GIT_TREE: dict[str, str | bytes] = {
    ".gitignore": "*.log\n!important.log\nbuild/\n/top.txt\ndocs/**/draft*.md\ncache\n",
    "important.log": "re-included by a negation\n",
    "trace.log": "ignored\n",
    "top.txt": "anchored: ignored at the root only\n",
    "build": "a file named like a directory pattern is kept\n",
    "src/build/out.txt": "a directory pattern matches at any depth\n",
    "src/top.txt": "not the anchored one\n",
    "src/cache/x.txt": "a bare name matches directories too\n",
    "docs/a/b/draft1.md": "ignored through **\n",
    "docs/a/final.md": "kept\n",
    "pkg/.gitignore": "!*.log\n*.txt\n!keep.txt\n/local/\n",
    "pkg/debug.log": "a nested negation wins over the parent\n",
    "pkg/notes.txt": "ignored by the nested file\n",
    "pkg/keep.txt": "re-included in the nested file\n",
    "pkg/local/a.py": "anchored to the nested file's folder\n",
    "pkg/sub/local/b.py": "not anchored here\n",
    "pkg/sub/more.log": "the nested negation applies below it too\n",
    "vendor/.gitignore": "*\n!.gitignore\n",
    "vendor/lib.py": "ignored by a catch-all\n",
}


def test_gitignore_rules_agree_with_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Negations, directory patterns, anchors, ** and nested files select what git itself selects."""
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path / "repo", GIT_TREE)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", "repo"], check=True, env=env)
    listed = subprocess.run(
        ["git", "-C", "repo", "ls-files", "--others", "--exclude-standard"],
        check=True, env=env, capture_output=True, text=True,
    ).stdout.split()
    files = run(["repo"], tmp_path).corpus.files
    assert sorted(files) == sorted(f"repo/{path}" for path in listed)
    assert {"repo/important.log", "repo/build", "repo/pkg/debug.log", "repo/pkg/keep.txt", "repo/pkg/sub/local/b.py"} <= set(files)
    assert not {"repo/trace.log", "repo/top.txt", "repo/src/build/out.txt", "repo/pkg/local/a.py", "repo/vendor/lib.py"} & set(files)


def test_a_negation_cannot_reach_into_an_ignored_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path / "repo", {
        ".git/HEAD": "ref: refs/heads/main\n",
        ".gitignore": "out/\n!out/keep.txt\n",
        "out/keep.txt": "git does not look inside an excluded directory\n",
        "a.txt": "a\n",
    })
    result = run(["repo"], tmp_path)
    assert result.corpus.files == ["repo/.gitignore", "repo/a.txt"]
    assert reasons(result)["repo/out/"] == "ignored (.gitignore)"


def test_include_and_exclude_globs(repo: Path, tmp_path: Path) -> None:
    assert run(["repo"], tmp_path, include=("*.py", "*.md")).corpus.files == ["repo/app.py", "repo/docs/guide.md"]
    result = run(["repo"], tmp_path, exclude=("docs/", "*.py"))
    assert "repo/docs/guide.md" not in result.corpus.files and "repo/app.py" not in result.corpus.files
    assert reasons(result)["repo/docs/"] == "excluded (--exclude)"


def test_symlink_loop_ends_and_is_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path / "tree", {"a/file.txt": "x\n"})
    os.symlink("..", tmp_path / "tree/a/up")
    os.symlink("file.txt", tmp_path / "tree/a/alias.txt")
    os.symlink("missing", tmp_path / "tree/dangling")
    result = run(["tree"], tmp_path)
    assert result.corpus.files == ["tree/a/alias.txt"]  # the same file once, under its first name
    skipped = reasons(result)
    assert skipped["tree/a/up/"] == "symlink loop or repeat"
    assert skipped["tree/a/file.txt"] == "duplicate of tree/a/alias.txt"
    assert skipped["tree/dangling"] == "broken symlink"


def test_a_symlinked_directory_outside_the_root_is_followed_only_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path, {"outside/o.txt": "outside\n", "tree/t.txt": "t\n"})
    os.symlink(tmp_path / "outside", tmp_path / "tree/link")
    assert reasons(run(["tree"], tmp_path))["tree/link/"] == "link leaves source"
    result = run(["tree"], tmp_path, follow_links=True)
    assert result.corpus.read("tree/link/o.txt") == "outside\n"
    roots = json.loads(result.manifest_path.read_text())["roots"]
    assert str(tmp_path / "outside") in roots


def test_encodings_are_detected_and_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    french = "Le café est une boisson très appréciée. Déjà vu, naïve façade, crème brûlée.\n" * 4
    write_tree(tmp_path, {
        "latin1.txt": french.encode("latin-1"),
        "utf16.txt": "UTF-16 text: naïve ☃\n".encode("utf-16"),
        "utf32.txt": "UTF-32 text ☃\n".encode("utf-32"),
        "bom8.txt": "\ufeffwith a UTF-8 BOM\n".encode(),
        "plain.txt": "ascii only\n",
        "utf8.txt": "ünïcödé ☃\n",
    })
    result = run(["."], tmp_path)
    documents = {document.path: document for document in result.corpus.documents}
    assert documents["latin1.txt"].text == french
    assert documents["latin1.txt"].encoding in {"cp1252", "iso8859-1", "iso8859-15"}
    assert "not UTF-8" in (documents["latin1.txt"].note or "")
    assert documents["utf16.txt"].text == "UTF-16 text: naïve ☃\n"
    assert documents["utf16.txt"].encoding == "utf-16"
    assert documents["utf32.txt"].text == "UTF-32 text ☃\n"
    assert documents["bom8.txt"].text == "with a UTF-8 BOM\n"
    assert documents["plain.txt"].encoding == documents["utf8.txt"].encoding == "utf-8"
    assert documents["utf8.txt"].text == "ünïcödé ☃\n"
    assert len(documents["utf8.txt"]) == len("ünïcödé ☃\n")


def test_stray_bytes_in_utf8_are_replaced_and_noted(tmp_path: Path) -> None:
    write_tree(tmp_path, {"log.txt": "naïve café ☃ ".encode() * 50 + b"\xff broken\n"})
    document = run([str(tmp_path / "log.txt")], tmp_path).corpus.documents[0]
    assert document.encoding == "utf-8"
    assert document.text.endswith("\ufffd broken\n")
    assert "1 undecodable" in (document.note or "")


def test_binary_empty_and_unterminated_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path, {
        "image.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        "controls.bin": bytes(range(1, 32)) * 10,
        "empty.txt": "",
        "last.txt": "no trailing newline",
    })
    result = run(["."], tmp_path)
    assert reasons(result)["image.png"] == reasons(result)["controls.bin"] == "binary"
    assert result.corpus.files == ["empty.txt", "last.txt"]
    assert result.corpus.text == "=== empty.txt ===\n\n=== last.txt ===\nno trailing newline"
    assert result.corpus.grep("trailing")[0].line == "no trailing newline"


def test_a_ten_megabyte_single_line(tmp_path: Path) -> None:
    line = "x" * (10 * 1024 * 1024) + "NEEDLE" + "y" * 100
    write_tree(tmp_path, {"one.txt": line})
    corpus = run([str(tmp_path / "one.txt")], tmp_path).corpus
    assert len(corpus.documents[0]) == len(line)
    matches = corpus.grep("NEEDLE")
    assert [(match.line_no, len(match.line)) for match in matches] == [(1, len(line))]
    assert "NEEDLE" in repr(matches) and len(repr(matches)) < 1000
    chunks = corpus.chunks(4 * 1024 * 1024)
    assert "".join(chunks) == corpus.text and max(map(len, chunks)) <= 4 * 1024 * 1024


def test_size_cap_applies_to_walks_not_to_named_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path, {"big.txt": "z" * 2000, "small.txt": "s\n"})
    walked = run(["."], tmp_path, max_file_size=1000)
    assert walked.corpus.files == ["small.txt"]
    assert reasons(walked)["big.txt"].startswith("too large: 2,000 bytes")
    assert run(["big.txt"], tmp_path, max_file_size=1000).corpus.files == ["big.txt"]


def test_globs_including_double_star(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path, {"a/x.py": "1\n", "a/b/y.py": "2\n", "a/b/z.txt": "3\n", "top.py": "4\n"})
    assert run(["a/**/*.py"], tmp_path).corpus.files == ["a/b/y.py", "a/x.py"]
    assert run(["*.py", "a/b/*.txt"], tmp_path).corpus.files == ["top.py", "a/b/z.txt"]


def test_several_sources_and_duplicates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path, {"docs/a.md": "a\n", "notes.txt": "n\n"})
    result = run(["docs", "notes.txt", "docs/a.md"], tmp_path)
    assert result.corpus.files == ["docs/a.md", "notes.txt"]
    assert reasons(result)["docs/a.md"] == "duplicate of docs/a.md"


def test_pdf_text_pages_and_bad_pdfs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path, {
        "paper.pdf": make_pdf(["Intro to RLMs", "", "Results table"]),
        "locked.pdf": make_pdf(["secret"], user_password="pw"),
        "owner_only.pdf": make_pdf(["readable anyway"], user_password=""),
        "scan.pdf": make_pdf(["", ""]),
        "broken.pdf": b"%PDF-1.7\n this is not a real pdf",
        "notes.txt": "text survives bad PDFs\n",
    })
    result = run(["."], tmp_path)
    assert result.corpus.files == ["notes.txt", "owner_only.pdf", "paper.pdf"]
    skipped = reasons(result)
    assert skipped["locked.pdf"].startswith("encrypted PDF")
    assert skipped["scan.pdf"].startswith("PDF without text")
    assert skipped["broken.pdf"].startswith("broken PDF")
    paper = result.corpus.document("paper.pdf")
    assert paper.kind == "pdf" and paper.page_count == 3
    assert paper.page(1).strip() == "Intro to RLMs" and paper.page(2).strip() == ""
    assert paper.page(3).strip() == "Results table"
    assert "pages without text: 2" in (paper.note or "")
    assert result.corpus.grep("Results")[0].page == 3
    assert result.summary() == {"documents": 3, "bytes": paper.size + 23 + os.path.getsize("owner_only.pdf"), "skipped": 3}


def test_stdin_is_spooled_to_a_file(tmp_path: Path) -> None:
    result = run(["-"], tmp_path, stdin=b"piped line 1\npiped line 2\n")
    document = result.corpus.documents[0]
    assert (document.path, document.kind) == ("<stdin>", "stdin")
    assert Path(document.file).parent == tmp_path / "spool"
    assert result.corpus.text == "piped line 1\npiped line 2\n"  # one document: no header


def test_empty_stdin_is_an_error_alone_and_a_skip_with_others(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="stdin is empty"):
        run(["-"], tmp_path)
    with pytest.raises(InputError, match="nothing readable on stdin: binary"):
        run(["-"], tmp_path, stdin=b"\0\1\2")
    write_tree(tmp_path, {"f.txt": "f\n"})
    result = run(["-", str(tmp_path / "f.txt")], tmp_path)
    assert reasons(result)["<stdin>"] == "empty"


def test_paths_from_stdin_with_nul_or_newlines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path, {"a b.txt": "a\n", "c.txt": "c\n"})
    for listing in (b"a b.txt\0c.txt\0", b"a b.txt\r\nc.txt\n"):
        result = ingest([], IngestOptions(), spool_dir=tmp_path / "spool", paths_from="-", stdin=io.BytesIO(listing))
        assert result.corpus.files == ["a b.txt", "c.txt"]
    (tmp_path / "list").write_bytes(b"c.txt\n")
    result = ingest([], IngestOptions(), spool_dir=tmp_path / "spool", paths_from="list")
    assert result.corpus.files == ["c.txt"]


def test_missing_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=r"no such file or directory: nope\.txt"):
        run(["nope.txt"], tmp_path)
    with pytest.raises(InputError, match=r"no file matches \*\.nothing"):
        run(["*.nothing"], tmp_path)
    write_tree(tmp_path, {"real.txt": "r\n"})
    result = run(["nope.txt", "real.txt"], tmp_path)
    assert result.corpus.files == ["real.txt"] and reasons(result)["nope.txt"] == "not found"


def test_nothing_readable_is_one_line_with_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path, {"d/a.bin": b"\0\1\2", "d/b.bin": b"\0", "d/.gitignore": "*.log\n.gitignore\n", "d/x.log": "l\n"})
    with pytest.raises(InputError) as caught:
        run(["d"], tmp_path)
    assert caught.value.message == "nothing readable in d (2 ignored, 2 binary)"
    assert "\n" not in caught.value.message
    write_tree(tmp_path, {"e/empty.txt": ""})
    with pytest.raises(InputError, match="all empty"):
        run(["e"], tmp_path)


def test_unreadable_file_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path, {"ok.txt": "ok\n", "locked.txt": "no\n"})
    real_open = os.open

    def refuse(path: str, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        if path.endswith("locked.txt"):  # chmod cannot stop root, who runs some test machines
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr("rlm_cli.ingest.documents.os.open", refuse)
    result = run(["."], tmp_path)
    assert result.corpus.files == ["ok.txt"]
    assert reasons(result)["locked.txt"] == "unreadable: Permission denied"


def test_a_fifo_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path, {"ok.txt": "ok\n"})
    os.mkfifo(tmp_path / "pipe")
    assert reasons(run(["."], tmp_path))["pipe"] == "not a regular file"


def test_huge_inputs_are_mapped_and_utf16_is_transcoded(tmp_path: Path) -> None:
    text = "".join(f"line {number} naïve\n" for number in range(2000))
    write_tree(tmp_path, {"big8.log": text, "big16.log": text.encode("utf-16")})
    result = run([str(tmp_path / "big8.log"), str(tmp_path / "big16.log")], tmp_path, mmap_threshold=1000)
    big8, big16 = result.corpus.documents
    assert big8.mapped and big16.mapped and big8.known_length is None
    assert big8[:] == big16[:] == text  # a slice is read from the mapping; .text is refused
    assert "transcoded from utf-16" in (big16.note or "")
    assert Path(big16.file).parent == tmp_path / "spool"


def test_manifest_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path, {"src/a.py": "a = 1\n", "src/b.bin": b"\0"})
    result = run(["src"], tmp_path)
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["version"] == 1
    assert manifest["roots"] == sorted([str(tmp_path / "spool"), str(tmp_path / "src")])
    entry = manifest["documents"][0]
    assert {key: entry[key] for key in ("path", "encoding", "size", "kind", "pages", "mmap")} == {
        "path": "src/a.py", "encoding": "utf-8", "size": 6, "kind": "text", "pages": None, "mmap": False,
    }
    assert entry["file"] == str(tmp_path / "src/a.py")
    reloaded = load_manifest(result.manifest_path)
    assert reloaded.text == result.corpus.text and reloaded.summary() == result.summary()
    assert manifest["skipped"] == [{"path": "src/b.bin", "reason": "binary"}]


def test_importing_the_cli_loads_no_ingest_dependency() -> None:
    code = "import sys, rlm_cli.cli, rlm_cli.ingest; print(sorted({'chardet', 'pypdf', 'pathspec'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_corpus_module_uses_only_the_standard_library() -> None:
    code = (
        "import sys, pkgutil; before = set(sys.modules); import rlm_cli.corpus; "
        "[__import__(m.name) for m in pkgutil.iter_modules(rlm_cli.corpus.__path__, 'rlm_cli.corpus.')]; "
        "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] not in sys.stdlib_module_names and m.split('.')[0] != 'rlm_cli'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_module_run_prints_the_summary_and_loads_only_what_the_tree_needs(tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.py": "print(1)\n", "b.bin": b"\0\1\2", "c.txt": "plain ascii\n"})
    code = (
        "import sys; from rlm_cli.ingest.__main__ import main; code = main(sys.argv[1:]); "
        "print(sorted({'chardet', 'pypdf', 'pathspec'} & set(sys.modules))); sys.exit(code)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(src)], capture_output=True, text=True, check=True).stdout
    summary, loaded = out.splitlines()
    assert json.loads(summary) == {"documents": 2, "bytes": 21, "skipped": 1}
    assert loaded == "[]"  # no .gitignore, no --include/--exclude, all UTF-8, no PDF


def test_module_run_reports_input_errors_with_their_exit_code(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "rlm_cli.ingest", str(tmp_path / "missing")], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip() == f"rlm: error: no such file or directory: {tmp_path / 'missing'}"
