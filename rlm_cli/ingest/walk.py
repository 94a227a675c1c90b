"""Sources to candidate files: paths, globs, directory walks, --paths-from lists.

Owns gitignore and --include/--exclude filtering, symlink loops, duplicates and the size cap.
"""

from __future__ import annotations

import glob
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from rlm_cli.corpus import Skipped
from rlm_cli.ingest.gitignore import IgnoreRules, rules_above

VCS_DIRS = frozenset({".git", ".hg", ".svn", ".bzr", "_darcs", ".jj", "CVS"})
_MAX_ROOTS = 64
_GLOB_MAGIC = frozenset("*?[")


@dataclass(frozen=True)
class Candidate:
    """A file to read: how it is shown, where its bytes are, and whether the user named it."""

    path: str
    file: str
    size: int
    explicit: bool
    kind: str = "text"


class _Filter:
    """--include / --exclude globs, with gitignore pattern semantics."""

    def __init__(self, include: tuple[str, ...], exclude: tuple[str, ...]) -> None:
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

    def __init__(self, *, include: tuple[str, ...], exclude: tuple[str, ...], gitignore: bool, max_file_size: int) -> None:
        self.candidates: list[Candidate] = []
        self.skipped: list[Skipped] = []
        self.roots: list[str] = []
        self.missing: list[str] = []
        self._filter = _Filter(include, exclude)
        self._gitignore = gitignore
        self._max_file_size = max_file_size
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
            self._add_file(shown, os.path.abspath(source), info, explicit=True)
        else:
            self._skip(shown, "excluded (--include/--exclude)")

    def _add_file(self, shown: str, file: str, info: os.stat_result, *, explicit: bool) -> None:
        key = (info.st_dev, info.st_ino)
        if key in self._seen_files:
            self._skip(shown, f"duplicate of {self._seen_files[key]}")
            return
        if not explicit and info.st_size > self._max_file_size:
            self._skip(shown, f"too large: {info.st_size:,} bytes over --max-file-size {self._max_file_size:,}")
            return
        self._seen_files[key] = shown
        self.candidates.append(Candidate(shown, file, info.st_size, explicit))

    def _walk(self, source: str, info: os.stat_result) -> None:
        root = Path(os.path.abspath(source))
        prefix = _display_prefix(source)
        if (info.st_dev, info.st_ino) in self._seen_dirs:
            self._skip(prefix or ".", "already included")
            return
        self._seen_dirs.add((info.st_dev, info.st_ino))
        self.roots.append(str(root))
        rules, base = rules_above(root) if self._gitignore else (IgnoreRules(), "")
        stack: list[tuple[str, str, IgnoreRules]] = [(str(root), "", rules)]
        while stack:
            directory, relative, rules = stack.pop()
            try:
                with os.scandir(directory) as listing:
                    entries = sorted(listing, key=lambda entry: entry.name)
            except OSError as error:
                self._skip(prefix + relative or ".", f"unreadable: {error.strerror}")
                continue
            if self._gitignore and any(entry.name == ".gitignore" for entry in entries):
                rules = rules.with_file(base + relative, Path(directory, ".gitignore"))
            folders = [
                folder for entry in entries
                if (folder := self._visit(entry, prefix, relative, base, rules)) is not None
            ]
            stack.extend(reversed(folders))

    def _visit(self, entry: os.DirEntry[str], prefix: str, relative: str, base: str, rules: IgnoreRules) -> tuple[str, str, IgnoreRules] | None:
        """Take one directory entry; return it when it is a folder to walk."""
        child = relative + entry.name
        shown = prefix + child
        try:
            is_dir, is_file = entry.is_dir(), entry.is_file()
            if is_dir or is_file:
                info = entry.stat()
        except OSError as error:
            self._skip(shown, f"unreadable: {error.strerror}")
            return None
        if is_dir:
            reason = self._dir_skip(entry, child, base, rules, info)
            if reason:
                self._skip(shown + "/", reason)
                return None
            self._seen_dirs.add((info.st_dev, info.st_ino))
            # Files below a linked folder are recorded by their real path: the worker reads those.
            folder = os.path.realpath(entry.path) if entry.is_symlink() else entry.path
            return folder, child + "/", rules
        if not is_file:
            self._skip(shown, "broken symlink" if entry.is_symlink() else "not a regular file")
        elif rules and rules.ignored(base + child):
            self._skip(shown, "ignored (.gitignore)")
        elif not self._filter.wants_file(child):
            self._skip(shown, "excluded (--include/--exclude)")
        else:
            file = os.path.realpath(entry.path) if entry.is_symlink() else entry.path
            self._add_file(shown, file, info, explicit=False)
        return None

    def _dir_skip(self, entry: os.DirEntry[str], child: str, base: str, rules: IgnoreRules, info: Any) -> str | None:
        if entry.name in VCS_DIRS:
            return "version control"
        if rules and rules.ignored(base + child, is_dir=True):
            return "ignored (.gitignore)"
        if self._filter.excludes_dir(child):
            return "excluded (--exclude)"
        if (info.st_dev, info.st_ino) in self._seen_dirs:
            return "symlink loop or repeat" if entry.is_symlink() else "already included"
        return None

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


def covering_roots(paths: list[str]) -> list[str]:
    """Few absolute paths whose subtrees hold every path given (what the worker must read)."""
    roots = sorted({os.path.abspath(path) for path in paths}, key=_parts)
    while True:
        kept: list[str] = []
        for path in roots:  # sorted by parts: a folder comes right before what it holds
            if not kept or not (path == kept[-1] or path.startswith(kept[-1].rstrip("/") + "/")):
                kept.append(path)
        if len(kept) <= _MAX_ROOTS:
            return kept
        roots = sorted({os.path.dirname(path) for path in kept}, key=_parts)


def _parts(path: str) -> list[str]:
    return path.split("/")
