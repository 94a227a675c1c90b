"""Sources to candidate files: paths, globs, directory walks, --paths-from lists.

Owns gitignore and --include/--exclude filtering, symlink loops and duplicates.
"""

from __future__ import annotations

import glob
import operator
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from rlm_cli.corpus import Skipped
from rlm_cli.ingest.gitignore import IgnoreRules, rules_above

VCS_DIRS = frozenset({".git", ".hg", ".svn", ".bzr", "_darcs", ".jj", "CVS"})
_MAX_ROOTS = 64
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

    def __init__(self, *, include: tuple[str, ...], exclude: tuple[str, ...], gitignore: bool) -> None:
        self.candidates: list[Candidate] = []
        self.skipped: list[Skipped] = []
        self.roots: list[str] = []
        self.missing: list[str] = []
        self._filter = _Filter(include, exclude)
        self._gitignore = gitignore
        self._seen_dirs: set[tuple[int, int]] = set()
        self._seen_files: dict[tuple[int, int], str] = {}

    def add_source(self, source: str) -> None:
        """A file, a directory, or a shell-style glob (with ** for any depth)."""
        if not os.path.lexists(source) and _GLOB_MAGIC & set(source):
            matches = sorted(glob.glob(source, recursive=True))
            if not matches:
                self._skip(source, "no match")
                self.missing.append(source)
            for match in matches:
                self._add_path(match, named=False)
            return
        self._add_path(source, named=True)

    def add_file(self, candidate: Candidate) -> None:
        """A file prepared elsewhere (spooled stdin)."""
        self.candidates.append(candidate)

    def _add_path(self, source: str, *, named: bool) -> None:
        shown = os.path.normpath(source)
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
            self._walk(source, info)
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
        if key in self._seen_files:
            self._skip(shown, f"duplicate of {self._seen_files[key]}")
            return
        self._seen_files[key] = shown
        folder, name = listed or (None, "")
        self.candidates.append(Candidate(shown, file, size, size is not None, "text", folder, name))

    def _walk(self, source: str, info: os.stat_result) -> None:
        root = Path(os.path.abspath(source))
        prefix = _display_prefix(source)
        if (info.st_dev, info.st_ino) in self._seen_dirs:
            self._skip(prefix or ".", "already included")
            return
        self._seen_dirs.add((info.st_dev, info.st_ino))
        self.roots.append(str(root))
        rules, base = rules_above(root) if self._gitignore else (IgnoreRules(), "")
        stack: list[_Folder] = [(str(root), "", rules, info.st_dev)]
        while stack:
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
                elif ruled and rules.ignored(base + child):
                    self._skip(prefix + child, "ignored (.gitignore)")
                elif filtering and not self._filter.wants_file(child):
                    self._skip(prefix + child, "excluded (--include/--exclude)")
                elif entry.is_symlink():
                    info = entry.stat()
                    self._add_file(prefix + child, os.path.realpath(entry.path), (info.st_dev, info.st_ino), None)
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
        self._seen_dirs.add((info.st_dev, info.st_ino))
        # Files below a linked folder are recorded by their real path: the worker reads those.
        folder = os.path.realpath(entry.path) if entry.is_symlink() else entry.path
        return folder, child + "/", rules, info.st_dev

    def _skip(self, path: str, reason: str) -> None:
        self.skipped.append(Skipped(path, reason))


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


def covering_roots(roots: list[str], files: list[str]) -> list[str]:
    """Few absolute paths whose subtrees hold every root and file (what the worker must read)."""
    prefixes = tuple(root.rstrip("/") + "/" for root in roots)
    # Files outside every root come from symlinks; most files are under a walked root.
    paths = sorted({*roots, *(file for file in files if not file.startswith(prefixes))}, key=_parts)
    while True:
        kept: list[str] = []
        for path in paths:  # sorted by parts: a folder comes right before what it holds
            if not kept or not (path == kept[-1] or path.startswith(kept[-1].rstrip("/") + "/")):
                kept.append(path)
        if len(kept) <= _MAX_ROOTS:
            return kept
        paths = sorted({os.path.dirname(path) for path in kept}, key=_parts)


def _parts(path: str) -> list[str]:
    return path.split("/")
