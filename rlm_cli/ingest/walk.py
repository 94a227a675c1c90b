"""Sources to candidate files: paths, globs, directory walks, --paths-from lists.

Owns gitignore and --include/--exclude filtering, symlink loops, links leaving their source,
credential folders, duplicates, and how undecodable file names are shown.
"""

from __future__ import annotations

import glob
import operator
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from rlm_cli.corpus import Skipped
from rlm_cli.ingest.clock import Clock
from rlm_cli.ingest.gitignore import IgnoreRules, rules_above

VCS_DIRS = frozenset({".git", ".hg", ".svn", ".bzr", "_darcs", ".jj", "CVS"})
# Where command-line tools keep keys and tokens (paths as they sit in a home directory). A walk
# never enters them nor reads them: a repository or a home walked whole must not send a private key
# to the model provider. Naming one as a source reads it.
CREDENTIALS = frozenset({
    ".ssh", ".gnupg", ".aws", ".azure", ".kube", ".docker", ".password-store", ".pki",
    ".config/gcloud", ".config/gh", ".config/hub", ".local/share/keyrings", ".terraform.d",
    ".netrc", ".git-credentials", ".pgpass",
})
_CREDENTIAL_NAMES = frozenset(path.rsplit("/", 1)[-1] for path in CREDENTIALS)
CREDENTIAL_REASON = "credentials (name it as a source to read it)"
LINK_LEAVES = "link leaves source"
_GLOB_MAGIC = frozenset("*?[")
_by_name = operator.attrgetter("name")


@dataclass(slots=True)
class Candidate:
    """A file to read: how it is shown, where its bytes are, and whether the user named it.

    `size` is known for named files; walked files are measured when read (saving a stat each).
    """

    path: str
    file: str
    size: int | None
    explicit: bool
    kind: str = "text"
    folder: str | None = None  # the listed directory of a walked file: opened once, files opened in it
    name: str = ""  # the file's name in `folder`


_Folder = tuple[str, str, "IgnoreRules", int]  # path, relative path, rules in force, device


class _Filter:
    """--include / --exclude globs, with gitignore pattern semantics."""

    def __init__(self, include: tuple[str, ...], exclude: tuple[str, ...]) -> None:
        self.active = bool(include or exclude)
        if not self.active:  # pathspec's import is a tenth of a short run's start-up
            self._include = self._exclude = None
            return
        from pathspec import GitIgnoreSpec

        self._include = GitIgnoreSpec.from_lines(include) if include else None
        self._exclude = GitIgnoreSpec.from_lines(exclude) if exclude else None

    def excludes_dir(self, relative: str) -> bool:
        return bool(self._exclude and self._exclude.match_file(relative + "/"))

    def wants_file(self, relative: str) -> bool:
        if self._exclude and self._exclude.match_file(relative):
            return False
        return self._include is None or self._include.match_file(relative)


class Walker:
    """Collects candidates and skips from sources, in the order given."""

    def __init__(
        self, *, include: tuple[str, ...], exclude: tuple[str, ...], gitignore: bool, follow_links: bool = False,
        clock: Clock | None = None,
    ) -> None:
        self.candidates: list[Candidate] = []
        self.skipped: list[Skipped] = []
        self.roots: list[str] = []  # walked directories and named files: what the worker may read
        self.hidden: list[str] = []  # credentials found under a walked directory: never readable
        self.missing: list[str] = []
        self._filter = _Filter(include, exclude)
        self._gitignore = gitignore
        self._follow_links = follow_links
        self._clock = clock or Clock(None)
        self._source = ""  # the real path of the directory being walked
        self._seen_dirs: set[tuple[int, int]] = set()
        self._seen_files: dict[tuple[int, int], str] = {}

    def add_source(self, source: str, shown_as: str | None = None) -> None:
        """A file, a directory, or a shell-style glob (with ** for any depth).

        `shown_as`: how a directory's files are named instead of by its path (a clone: "repo/").
        """
        if not os.path.lexists(source) and _GLOB_MAGIC & set(source):
            matches = sorted(glob.glob(source, recursive=True))
            if not matches:
                self._skip(source, "no match")
                self.missing.append(source)
            for match in matches:
                self._add_path(match, named=False)
            return
        self._add_path(source, named=True, shown_as=shown_as)

    def add_file(self, candidate: Candidate) -> None:
        """A file prepared elsewhere (spooled stdin)."""
        self.candidates.append(candidate)

    def _add_path(self, source: str, *, named: bool, shown_as: str | None = None) -> None:
        shown = display(os.path.normpath(source))
        try:
            info = os.stat(source)
        except FileNotFoundError:
            self._skip(shown, "broken symlink" if os.path.islink(source) else "not found")
            self.missing.append(source)
            return
        except OSError as error:
            self._skip(shown, f"unreadable: {error.strerror}")
            return
        if stat.S_ISDIR(info.st_mode):
            self._walk(source, info, _display_prefix(source) if shown_as is None else shown_as)
        elif not stat.S_ISREG(info.st_mode):
            self._skip(shown, "not a regular file")
        elif named or self._filter.wants_file(shown):
            self.roots.append(os.path.abspath(source))
            self._add_file(shown, os.path.abspath(source), (info.st_dev, info.st_ino), info.st_size)
        else:
            self._skip(shown, "excluded (--include/--exclude)")

    def _add_file(self, shown: str, file: str, key: tuple[int, int], size: int | None, listed: tuple[str, str] | None = None) -> None:
        """Record a file once; `size` is None for walked files (measured when read).

        `listed` is (folder, name) for a file found in a listing: it is opened relative to the folder.
        """
        if not shown.isascii():
            shown = display(shown)
        if key in self._seen_files:
            self._skip(shown, f"duplicate of {self._seen_files[key]}")
            return
        self._seen_files[key] = shown
        folder, name = listed or (None, "")
        self.candidates.append(Candidate(shown, file, size, size is not None, "text", folder, name))

    def _walk(self, source: str, info: os.stat_result, prefix: str) -> None:
        root = Path(os.path.abspath(source))
        if (info.st_dev, info.st_ino) in self._seen_dirs:
            self._skip(prefix or ".", "already included")
            return
        self._seen_dirs.add((info.st_dev, info.st_ino))
        self.roots.append(str(root))
        self._source = os.path.realpath(root)
        rules, base = rules_above(root) if self._gitignore else (IgnoreRules(), "")
        stack: list[_Folder] = [(str(root), "", rules, info.st_dev)]
        while stack:
            self._clock.check(f"walking {prefix or '.'}")
            directory, relative, rules, device = stack.pop()
            try:
                with os.scandir(directory) as listing:
                    entries = sorted(listing, key=_by_name)
            except OSError as error:
                self._skip(prefix + relative or ".", f"unreadable: {error.strerror}")
                continue
            if self._gitignore and any(entry.name == ".gitignore" for entry in entries):
                rules = rules.with_file(base + relative, Path(directory, ".gitignore"))
            stack.extend(reversed(self._take(entries, directory, prefix, (relative, base, rules, device))))

    def _take(self, entries: list[os.DirEntry[str]], directory: str, prefix: str, where: tuple[str, str, IgnoreRules, int]) -> list[_Folder]:
        """Record one listing's files and skips; return its folders to walk.

        The loop runs once per file of the tree, so lookups are hoisted out of it.
        """
        relative, base, rules, device = where
        ruled, filtering = bool(rules), self._filter.active
        folders: list[_Folder] = []
        for entry in entries:
            child = relative + entry.name
            try:
                if entry.is_dir():
                    if (folder := self._enter(entry, child, prefix + child, base, rules)) is not None:
                        folders.append(folder)
                elif not entry.is_file():
                    self._skip(prefix + child, "broken symlink" if entry.is_symlink() else "not a regular file")
                elif entry.name in _CREDENTIAL_NAMES and self._credentials(entry.path):
                    self._skip(prefix + child, CREDENTIAL_REASON)
                elif ruled and rules.ignored(base + child):
                    self._skip(prefix + child, "ignored (.gitignore)")
                elif filtering and not self._filter.wants_file(child):
                    self._skip(prefix + child, "excluded (--include/--exclude)")
                elif entry.is_symlink():
                    real = self._linked(entry.path, prefix + child)
                    if real is not None:
                        info = entry.stat()
                        self._add_file(prefix + child, real, (info.st_dev, info.st_ino), None)
                else:
                    # The folder's device and the listing's inode number identify the file without a stat.
                    self._add_file(prefix + child, entry.path, (device, entry.inode()), None, (directory, entry.name))
            except OSError as error:
                self._skip(prefix + child, f"unreadable: {error.strerror}")
        return folders

    def _enter(self, entry: os.DirEntry[str], child: str, shown: str, base: str, rules: IgnoreRules) -> _Folder | None:
        """A folder to walk, or None when it is skipped (recorded with its reason)."""
        reason = None
        if entry.name in VCS_DIRS:
            reason = "version control"
        elif entry.name in _CREDENTIAL_NAMES and self._credentials(entry.path):
            reason = CREDENTIAL_REASON
        elif rules and rules.ignored(base + child, is_dir=True):
            reason = "ignored (.gitignore)"
        elif self._filter.excludes_dir(child):
            reason = "excluded (--exclude)"
        else:
            info = entry.stat()
            if (info.st_dev, info.st_ino) in self._seen_dirs:
                reason = "symlink loop or repeat" if entry.is_symlink() else "already included"
        if reason:
            self._skip(shown + "/", reason)
            return None
        folder = entry.path
        if entry.is_symlink():
            # Files below a linked folder are recorded by their real path: the worker reads those.
            real = self._linked(entry.path, shown + "/")
            if real is None:
                return None
            if not under(real, self._source):
                self.roots.append(real)  # followed out of the source (--follow-links)
            folder = real
        self._seen_dirs.add((info.st_dev, info.st_ino))
        return folder, child + "/", rules, info.st_dev

    def listed_skip(self, relative: str, rules_of: Callable[[str], IgnoreRules]) -> tuple[str, str] | None:
        """Why a file named by a listing (an object store's prefix) is left out, as (what, reason),
        by the rules of a walk; `what` is the file or its first skipped folder ("logs/.git/").

        `rules_of(folder)` gives the gitignore rules in force inside a folder ("" or "a/b/").
        """
        folder = ""
        *folders, name = relative.split("/")
        for part in folders:
            child, rules = folder + part, rules_of(folder)
            reason = (
                "version control" if part in VCS_DIRS
                else CREDENTIAL_REASON if _is_credentials(child)
                else "ignored (.gitignore)" if rules and rules.ignored(child, is_dir=True)
                else "excluded (--exclude)" if self._filter.excludes_dir(child)
                else None
            )
            if reason:
                return child + "/", reason
            folder = child + "/"
        rules = rules_of(folder)
        reason = (
            CREDENTIAL_REASON if name in _CREDENTIAL_NAMES and _is_credentials(relative)
            else "ignored (.gitignore)" if rules and rules.ignored(relative)
            else "excluded (--include/--exclude)" if self._filter.active and not self._filter.wants_file(relative)
            else None
        )
        return (relative, reason) if reason else None

    def _credentials(self, path: str) -> bool:
        """True for a credential file or folder; recorded so the sandbox hides it too."""
        if _is_credentials(path):
            self.hidden.append(path)
            return True
        return False

    def _linked(self, path: str, shown: str) -> str | None:
        """The real path a link inside the walk points at, or None when it leaves the source."""
        real = os.path.realpath(path)
        if self._follow_links or under(real, self._source):
            return real
        self._skip(shown, LINK_LEAVES)
        return None

    def _skip(self, path: str, reason: str) -> None:
        self.skipped.append(Skipped(path if path.isascii() else display(path), reason))


def _is_credentials(path: str) -> bool:
    """True when a path ends in one of the CREDENTIALS."""
    return any(("/" + path).endswith("/" + name) for name in CREDENTIALS)


def display(path: str) -> str:
    """A path as shown to the user and the model: bytes that are not UTF-8 as \\xNN escapes.

    Names are read with Python's surrogate escapes; those cannot be printed or sent as JSON,
    while the real name (kept in Candidate.file) still opens the file.
    """
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")
    return path


def under(path: str, root: str) -> bool:
    """True when `path` is `root` or inside it (both absolute, normalised)."""
    return path == root or path.startswith(root.rstrip("/") + "/")


def _display_prefix(source: str) -> str:
    """How paths under a walked directory start: "" for ".", "repo/" for "./repo/"."""
    normal = os.path.normpath(source)
    if normal == ".":
        return ""
    return normal if normal.endswith("/") else normal + "/"


def read_path_list(stream: BinaryIO) -> list[str]:
    """Paths separated by NULs (find -print0) or, when there is no NUL, by newlines."""
    data = stream.read()
    separator = b"\0" if b"\0" in data else b"\n"
    names = (name.removesuffix(b"\r") if separator == b"\n" else name for name in data.split(separator))
    return [os.fsdecode(name) for name in names if name]
