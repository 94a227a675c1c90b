"""Gitignore rules for a directory walk: nested .gitignore files, negations, .git/info/exclude.

pathspec does the pattern semantics (through its public API); this module decides which files
apply where.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec


class _IgnoreFile(NamedTuple):
    base: str  # where the file sits, relative to the walk's base ("" or "dir/sub/")
    spec: GitIgnoreSpec
    regexes: tuple[re.Pattern[str], ...]  # each pattern's compiled regex: "can any of them match?"


class IgnoreRules:
    """The ignore files that apply at one directory, deepest first (deeper files win)."""

    def __init__(self, files: tuple[_IgnoreFile, ...] = ()) -> None:
        self._files = files

    def __bool__(self) -> bool:
        return bool(self._files)

    def with_file(self, base: str, path: Path, *, lowest: bool = False) -> IgnoreRules:
        """These rules plus the patterns in `path`, relative to `base` ("" or "dir/sub/")."""
        entry = _load(base, path)
        if entry is None:
            return self
        return IgnoreRules((*self._files, entry) if lowest else (entry, *self._files))

    def ignored(self, relative: str, is_dir: bool = False) -> bool:
        """Whether the path (relative to the walk's base) is ignored."""
        for base, spec, regexes in self._files:
            if not relative.startswith(base):
                continue
            path = relative[len(base) :] + ("/" if is_dir else "")
            # Most paths match no pattern: one search per pattern is cheaper than a full check.
            for regex in regexes:
                if regex.search(path) is not None:
                    include = spec.check_file(path).include
                    if include is not None:
                        return include
                    break
        return False


def _load(base: str, path: Path) -> _IgnoreFile | None:
    from pathspec import GitIgnoreSpec
    from pathspec.pattern import RegexPattern

    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    if not any(line.strip() for line in lines):
        return None
    spec = GitIgnoreSpec.from_lines(lines)
    regexes = tuple(
        pattern.regex for pattern in spec.patterns
        if isinstance(pattern, RegexPattern) and pattern.include is not None and pattern.regex is not None
    )
    return _IgnoreFile(base, spec, regexes)


def find_repository(directory: Path) -> Path | None:
    """The nearest directory at or above `directory` holding a .git entry."""
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def rules_above(root: Path) -> tuple[IgnoreRules, str]:
    """Rules from the enclosing repository down to `root`, and root's path relative to it.

    The relative prefix ("" or "sub/dir/") is what walked paths are matched under. When the
    enclosing rules would ignore `root` itself, they are dropped: a directory named on the
    command line is read.
    """
    repository = find_repository(root)
    if repository is None:
        return IgnoreRules(), ""
    rules = IgnoreRules().with_file("", repository / ".git" / "info" / "exclude", lowest=True)
    parts = root.relative_to(repository).parts
    for depth in range(len(parts)):  # root's own .gitignore is read by the walk
        base = "".join(part + "/" for part in parts[:depth])
        rules = rules.with_file(base, repository / base / ".gitignore")
    prefix = "".join(part + "/" for part in parts)
    ancestors = ("/".join(parts[: depth + 1]) for depth in range(len(parts)))
    if any(rules.ignored(ancestor, is_dir=True) for ancestor in ancestors):
        return IgnoreRules(), prefix
    return rules, prefix
