"""Gitignore rules for a directory walk: nested .gitignore files, negations, .git/info/exclude.

pathspec does the pattern semantics; this module decides which files apply where.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any


class IgnoreRules:
    """The ignore files that apply at one directory, deepest first (deeper files win)."""

    def __init__(self, specs: tuple[tuple[str, Any, re.Pattern[str]], ...] = ()) -> None:
        self._specs = specs

    def __bool__(self) -> bool:
        return bool(self._specs)

    def with_file(self, base: str, path: Path, *, lowest: bool = False) -> IgnoreRules:
        """These rules plus the patterns in `path`, relative to `base` ("" or "dir/sub/")."""
        spec = _load(path)
        if spec is None:
            return self
        entry = (base, spec, _any_pattern(spec))
        return IgnoreRules((*self._specs, entry) if lowest else (entry, *self._specs))

    def ignored(self, relative: str, is_dir: bool = False) -> bool:
        """Whether the path (relative to the walk's base) is ignored."""
        for base, spec, any_pattern in self._specs:
            if not relative.startswith(base):
                continue
            path = relative[len(base) :] + ("/" if is_dir else "")
            if any_pattern.match(path) is None:  # the usual case, without pathspec's per-call cost
                continue
            result = spec.check_file(path)
            if result.include is not None:
                return bool(result.include)
        return False


def _load(path: Path) -> Any:
    from pathspec import GitIgnoreSpec

    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return GitIgnoreSpec.from_lines(lines) if any(line.strip() for line in lines) else None


def _any_pattern(spec: Any) -> re.Pattern[str]:
    """One regex matching whatever any of the spec's patterns matches."""
    sources = [
        pattern.regex.pattern.replace("(?P<ps_d>", "(?:")
        for pattern in spec.patterns if pattern.include is not None and pattern.regex is not None
    ]
    return re.compile("|".join(f"(?:{source})" for source in sources) or "(?!)")


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
