"""Git URL sources: a shallow clone in the cache, reused while the remote is unchanged, --ref,
hostile URLs refused before git runs. Against bare repositories the tests make (file://)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from rlm_cli.errors import InputError
from rlm_cli.ingest import gitsource
from rlm_cli.ingest.clock import Clock
from tests.unit.ingest_helpers import run, write_tree


def git(*args: str, cwd: Path) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main", *args]
    return subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "rlm" / "git"


@pytest.fixture
def remote(made: Path, tmp_path: Path) -> tuple[str, Path]:
    """A fresh copy of the repository (its working copy too, to push new commits from)."""
    shutil.copytree(made, tmp_path / "made", symlinks=True)
    return (tmp_path / "made" / "project.git").as_uri(), tmp_path / "made" / "work"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bare repository `project.git`: tag v1 ("one"), then main ("two"), and a branch dev ("dev");
    main holds a .gitignore, an ignored file, a .ssh folder and a link to a file outside."""
    tmp_path = tmp_path_factory.mktemp("made")
    work = tmp_path / "work"
    work.mkdir()
    git("init", "-q", cwd=work)
    write_tree(work, {"src/app.py": "VERSION = 'one'\n"})
    git("add", ".", cwd=work)
    git("commit", "-qm", "one", cwd=work)
    git("tag", "v1", cwd=work)
    write_tree(work, {"src/app.py": "VERSION = 'two'\n", ".gitignore": "*.tmp\n", "build.tmp": "scratch\n", ".ssh/id_rsa": "KEY\n"})
    (work / "passwd").symlink_to("/etc/passwd")
    git("add", "-f", ".", cwd=work)
    git("commit", "-qm", "two", cwd=work)
    git("tag", "-a", "v2", "-m", "annotated", cwd=work)
    git("checkout", "-qb", "dev", cwd=work)
    write_tree(work, {"src/app.py": "VERSION = 'dev'\n"})
    git("commit", "-qam", "dev", cwd=work)
    git("checkout", "-q", "main", cwd=work)
    bare = tmp_path / "project.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    return tmp_path


def test_a_git_url_is_cloned_into_the_cache_and_walked_like_a_folder(tmp_path: Path, cache: Path, remote: tuple[str, Path]) -> None:
    url, work = remote
    result = run([url], tmp_path)
    corpus = result.corpus
    assert corpus.files == ["project/.gitignore", "project/passwd", "project/src/app.py"]  # shown by the repository's name
    assert corpus.read("project/src/app.py") == "VERSION = 'two'\n"
    reasons = {item.path: item.reason for item in result.skipped}
    assert reasons["project/.git/"] == "version control"
    assert reasons["project/build.tmp"] == "ignored (.gitignore)"
    assert reasons["project/.ssh/"].startswith("credentials")
    # A link in the repository is checked out as a small file naming its target, never followed.
    assert corpus.read("project/passwd") == "/etc/passwd"
    clone = cache / next(iter(p.name for p in cache.iterdir())) / git("rev-parse", "main", cwd=work)
    assert clone.is_dir()
    # The sandbox may read the clone (less its .ssh) and the spool, not the cache around them.
    spool = str(tmp_path / "spool")
    assert all(root.startswith(str(clone) + "/") or root == spool for root in result.roots)
    assert str(clone / ".gitignore") in result.roots and str(clone / ".ssh") not in result.roots


def test_an_unchanged_remote_reuses_the_clone_and_a_new_commit_is_fetched(
    tmp_path: Path, cache: Path, remote: tuple[str, Path], monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, work = remote
    fetches: list[str] = []
    fetch = gitsource._fetch
    monkeypatch.setattr(gitsource, "_fetch", lambda *args: fetches.append(args[1]) or fetch(*args))
    run([url], tmp_path / "a")
    (clone,) = (p for p in cache.glob("*/*") if p.is_dir())
    before = (clone / "src" / "app.py").stat()
    run([url], tmp_path / "b")
    after = (clone / "src" / "app.py").stat()
    assert fetches == ["HEAD"]  # the second run only asked the remote for its head
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    write_tree(work, {"src/app.py": "VERSION = 'three'\n"})
    git("commit", "-qam", "three", cwd=work)
    git("push", "-q", url, "main", cwd=work)
    assert run([url], tmp_path / "c").corpus.read("project/src/app.py") == "VERSION = 'three'\n"
    assert fetches == ["HEAD", "HEAD"]
    assert not list(cache.glob("*/.clone-*"))  # no half-made clone left behind


@pytest.mark.parametrize(("ref", "version"), [("v1", "one"), ("v2", "two"), ("dev", "dev"), ("main", "two")])
def test_ref_picks_a_tag_or_a_branch(tmp_path: Path, cache: Path, remote: tuple[str, Path], ref: str, version: str) -> None:
    url, _ = remote
    assert run([url], tmp_path, git_ref=ref).corpus.read("project/src/app.py") == f"VERSION = '{version}'\n"


def test_ref_picks_a_commit_by_its_full_hash(tmp_path: Path, cache: Path, remote: tuple[str, Path]) -> None:
    url, work = remote
    commit = git("rev-parse", "v1", cwd=work)
    result = run([url], tmp_path, git_ref=commit)
    assert result.corpus.read("project/src/app.py") == "VERSION = 'one'\n"
    assert result.roots[0].endswith("/" + commit)


def test_an_unknown_ref_is_named(tmp_path: Path, cache: Path, remote: tuple[str, Path]) -> None:
    url, _ = remote
    with pytest.raises(InputError, match="has no branch or tag 'v9'"):
        run([url], tmp_path, git_ref="v9")


def test_a_missing_repository_says_what_git_said(tmp_path: Path, cache: Path) -> None:
    with pytest.raises(InputError, match=r"git failed listing file:///.*nothing\.git: .*does not appear to be a git repository") as failure:
        run([(tmp_path / "nothing.git").as_uri()], tmp_path)
    assert failure.value.hint and "--ref" in failure.value.hint


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ext::sh -c touch% /tmp/rlm-pwned", "transport::address"),
        ("fd::7", "transport::address"),
        ("--upload-pack=touch /tmp/rlm-pwned", "begins with '-'"),
        ("ssh://-oProxyCommand=touch%20/tmp/rlm-pwned/repo.git", "host begins with '-'"),
        ("ftp://example.com/repo.git", "ftp scheme"),
    ],
)
def test_hostile_urls_are_refused_before_git_runs(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, url: str, why: str) -> None:
    monkeypatch.setattr(gitsource, "_git", lambda *args: pytest.fail("git ran"))
    with pytest.raises(InputError, match="refused git source") as refused:
        gitsource.clone(url, None, Clock(None))
    assert why in str(refused.value)


def test_an_option_as_ref_is_refused(tmp_path: Path, cache: Path, remote: tuple[str, Path]) -> None:
    url, _ = remote
    with pytest.raises(InputError, match="refused --ref"):
        run([url], tmp_path, git_ref="--upload-pack=touch /tmp/rlm-pwned")


def test_only_the_named_transports_are_allowed_inside_git() -> None:
    """Even a URL that passed the checks cannot reach ext:: through a redirect or a submodule."""
    done = subprocess.run(
        ["git", *(part for setting in gitsource._CONFIG for part in ("-c", setting)), "ls-remote", "--", "ext::sh -c true"],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode != 0 and "transport 'ext' not allowed" in done.stderr


@pytest.mark.parametrize(
    ("source", "git_url"),
    [
        ("https://github.com/org/repo", True), ("https://github.com/org/repo/", True),
        ("https://git.example.com/org/repo.git", True), ("git@github.com:org/repo.git", True),
        ("ssh://git@host/org/repo", True), ("https://example.com/logs/app.log", False),
        ("https://github.com/org/repo/blob/main/README.md", False), ("s3://bucket/key", False),
    ],
)
def test_which_urls_are_git_repositories(source: str, git_url: bool) -> None:
    assert gitsource.is_git_url(source) is git_url


def test_a_url_with_a_path_for_a_question_is_told_the_question_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rlm_cli.runner import split_sources

    monkeypatch.chdir(write_tree(tmp_path, {"README.md": "hi\n"}))
    with pytest.raises(InputError, match=r"missing QUESTION: the last argument, 'README\.md', is a path"):
        split_sources(["https://github.com/org/repo", "README.md"], None, stdin_is_tty=True)


def test_an_older_commit_unused_for_a_day_is_dropped_when_a_new_one_is_cloned(tmp_path: Path, cache: Path, remote: tuple[str, Path]) -> None:
    import os
    import time

    url, work = remote
    run([url], tmp_path / "a")
    (home,) = cache.iterdir()
    stale, recent = home / ("0" * 40), home / ("1" * 40)
    stale.mkdir()
    recent.mkdir()
    day_ago = time.time() - gitsource.KEEP_OTHER_COMMITS - 60
    os.utime(stale, (day_ago, day_ago))
    write_tree(work, {"src/app.py": "VERSION = 'four'\n"})
    git("commit", "-qam", "four", cwd=work)
    git("push", "-q", url, "main", cwd=work)
    run([url], tmp_path / "b")
    assert not stale.exists() and recent.exists()
    assert (home / git("rev-parse", "main", cwd=work)).is_dir()


def test_a_git_that_hangs_is_stopped_at_the_deadline_with_its_children(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    fake = write_tree(tmp_path / "bin", {"git": f"#!/bin/sh\nsleep 30 &\necho $! > {tmp_path}/child\nwait\n"})
    (fake / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:/usr/bin:/bin")
    started = time.monotonic()
    with pytest.raises(InputError, match=r"--timeout 0\.5 s passed while listing https://example\.com/org/repo\.git"):
        gitsource.clone("https://example.com/org/repo.git", None, Clock(0.5))
    assert time.monotonic() - started < 5
    child = int((tmp_path / "child").read_text())
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child}").exists() and "Z" not in Path(f"/proc/{child}/stat").read_text().split()[2] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not Path(f"/proc/{child}").exists() or Path(f"/proc/{child}/stat").read_text().split()[2] == "Z"
