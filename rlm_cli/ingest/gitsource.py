"""Git URLs as sources: a shallow clone in the cache directory, reused while the remote's commit
is unchanged, then walked like a local directory.

Git runs without prompts, within a time limit, over the transports named here only; a URL that
could hand git an option or a command (a leading '-', `ext::`) is refused before git runs.
Imports nothing beyond the standard library, platformdirs and the ingest leaves.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from rlm_cli.errors import InputError
from rlm_cli.ingest.clock import Clock
from rlm_cli.urls import without_credentials

GIT_TIMEOUT = 300.0  # seconds one git command may take (less when the run's --timeout is nearer)
KEEP_OTHER_COMMITS = 24 * 3600.0  # seconds an unused clone of an older commit stays in the cache
SCHEMES = ("https", "http", "ssh", "git", "file")
_FORGES = frozenset({"github.com", "gitlab.com", "bitbucket.org", "codeberg.org"})
_SCP = re.compile(r"[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^:]+")  # git@host:org/repo (no scheme)
_TRANSPORT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*::")  # git's `<transport>::<address>` (ext::, fd::)
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_HINT = "check the URL and your access to it (git's own credential helpers and ssh keys are used); --ref picks a branch, tag or commit"


@dataclass(frozen=True)
class Clone:
    """A checked-out commit of a repository in the cache."""

    directory: Path  # named by its commit
    name: str  # the repository's name: its files are shown as `name/path`


def is_git_url(source: str) -> bool:
    """True for a source naming a git repository: git@host:repo, ssh:// or git://, a URL ending
    in .git, a forge's `host/org/repo`, or git's `transport::` form (refused when cloned)."""
    if _SCP.fullmatch(source) or _TRANSPORT.match(source):
        return True
    parts = urlsplit(source)
    if parts.scheme in ("ssh", "git"):
        return True
    path = parts.path.rstrip("/")
    if parts.scheme == "file":
        return path.endswith(".git") or os.path.isfile(os.path.join(path, "HEAD")) or os.path.isdir(os.path.join(path, ".git"))
    if parts.scheme in ("https", "http"):
        return path.endswith(".git") or (parts.hostname in _FORGES and path.count("/") == 2)
    return False


def check_url(url: str) -> None:
    """Raise InputError for a URL git could be tricked by: options, command transports, odd hosts."""
    reason = None
    if url.startswith("-"):
        reason = "it begins with '-' (git would read it as an option)"
    elif _TRANSPORT.match(url):
        reason = "git's transport::address form can run commands"
    elif any(ch.isspace() or ord(ch) < 32 for ch in url):
        reason = "it holds whitespace or control characters"
    elif not _SCP.fullmatch(url):
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES:
            reason = f"{parts.scheme or 'no'} scheme (only {', '.join(SCHEMES)} and user@host:path)"
        elif (parts.hostname or "").startswith("-") or (parts.username or "").startswith("-"):
            reason = "its host begins with '-'"
    if reason:
        raise InputError(f"refused git source {without_credentials(url)}: {reason}", hint=_HINT)


def clone(url: str, ref: str | None, clock: Clock) -> Clone:
    """The commit `ref` (default: the remote's HEAD) of `url`, cloned once and then reused."""
    check_url(url)
    if ref is not None and (ref.startswith("-") or not ref.strip() or any(ch.isspace() or ch in ":^~?*[\\" for ch in ref)):
        raise InputError(f"refused --ref {ref!r}: not a branch, tag or commit name", hint=_HINT)
    home = cache_root() / hashlib.sha256(without_credentials(url).encode()).hexdigest()[:16]
    wanted, commit = _resolve(url, ref, clock)
    directory = home / commit
    if directory.is_dir():
        os.utime(directory)  # last used: older commits of this URL are dropped after a day unused
    else:
        directory = _fetch(url, wanted, home, clock)
        _drop_stale(home, keep=directory)
    return Clone(directory, _name(url))


def _name(url: str) -> str:
    path = url.rsplit(":", 1)[-1] if _SCP.fullmatch(url) else urlsplit(url).path
    return path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git") or "repo"


def cache_root() -> Path:
    """Where clones are kept: the platform's cache directory ($XDG_CACHE_HOME/rlm/git on Linux)."""
    from platformdirs import user_cache_path

    return user_cache_path("rlm", appauthor=False) / "git"


def _resolve(url: str, ref: str | None, clock: Clock) -> tuple[str, str]:
    """What to fetch (a ref name or a commit) and the commit it names now, from `git ls-remote`."""
    refs: dict[str, str] = {}
    for line in _git(["ls-remote", "--", url], clock, f"listing {without_credentials(url)}").splitlines():
        sha, _, name = line.partition("\t")
        refs[name] = sha
    names = ["HEAD"] if ref is None else [ref, f"refs/heads/{ref}", f"refs/tags/{ref}"]
    for name in names:
        commit = refs.get(name + "^{}") or refs.get(name)  # an annotated tag: the commit it tags
        if commit:
            return name, commit
    if ref is not None and _SHA.fullmatch(ref):
        return ref, ref
    what = "no HEAD" if ref is None else f"no branch or tag {ref!r} (a commit must be named by its full hash)"
    raise InputError(f"cannot clone {without_credentials(url)}: it has {what}", hint=_HINT)


def _fetch(url: str, wanted: str, home: Path, clock: Clock) -> Path:
    """A shallow checkout of `wanted` under `home`, named by its commit; safe against a run doing
    the same at once (each clones into its own folder, the first rename wins)."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    work = Path(tempfile.mkdtemp(prefix=".clone-", dir=home))
    try:
        doing = f"cloning {without_credentials(url)}"
        _git(["init", "-q", str(work)], clock, doing)
        _git(["-C", str(work), "fetch", "-q", "--depth", "1", "--no-tags", "--", url, wanted], clock, doing)
        _git(["-C", str(work), "checkout", "-q", "--detach", "FETCH_HEAD"], clock, doing)
        commit = _git(["-C", str(work), "rev-parse", "HEAD"], clock, doing).strip()
        target = home / commit
        try:
            work.rename(target)
        except OSError:  # another run put the same commit there first
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _drop_stale(home: Path, keep: Path) -> None:
    """Remove this URL's other clones unused for a day (a run reading one now is left alone)."""
    now = time.time()
    for other in home.iterdir():
        if other != keep and not other.name.startswith(".") and now - other.stat().st_mtime > KEEP_OTHER_COMMITS:
            shutil.rmtree(other, ignore_errors=True)


# Only these transports; symlinks checked out as plain files (a hostile repository's link to
# ~/.ssh is then a small text file, even with --follow-links); no hooks, no LFS downloads.
_CONFIG = [
    "protocol.allow=never", *(f"protocol.{scheme}.allow=always" for scheme in SCHEMES),
    "core.symlinks=false", "core.hooksPath=/dev/null", "filter.lfs.smudge=", "filter.lfs.process=", "filter.lfs.required=false",
]


def _git(args: list[str], clock: Clock, doing: str) -> str:
    """Run git without prompts, within the time left; its output, or InputError with git's reason."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_LFS_SKIP_SMUDGE": "1", "SSH_ASKPASS_REQUIRE": "never"}
    if "GIT_SSH_COMMAND" not in env and "GIT_SSH" not in env:
        env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"
    command = ["git", *(part for setting in _CONFIG for part in ("-c", setting)), *args]
    clock.check(doing)
    timeout = clock.wait(GIT_TIMEOUT)
    try:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, start_new_session=True,  # its own group: a timeout ends ssh and helpers too
        )
    except FileNotFoundError:
        raise InputError("git is not installed: a git URL needs it", hint="install git, or clone the repository yourself and name the folder") from None
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        clock.check(doing)  # the run's --timeout, said as it is said everywhere
        raise InputError(f"git took more than {timeout:g} s {doing}", hint=_HINT) from None
    except BaseException:  # Ctrl-C: no git left behind
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    if process.returncode != 0:
        reason = _reason(err.decode("utf-8", "replace"))
        raise InputError(f"git failed {doing}: {reason}", hint=_HINT)
    return out.decode("utf-8", "replace")


def _reason(stderr: str) -> str:
    """git's first fatal line (else its last line), without credentials a URL in it may carry."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    fatal = [line.removeprefix("fatal: ") for line in lines if line.startswith("fatal: ")]
    return without_credentials((fatal or lines or ["no reason given"])[0 if fatal else -1])
