"""Sources named by a calling agent, checked against the server's root: nothing outside it is read.

Globs are expanded here, the way a run expands them, so that every file handed on has been checked
(a link under the root that leads out of it is refused too).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path

from rlm_cli.errors import InputError

GLOB_MAGIC = frozenset("*?[")


class SourceRoot:
    """The directory a server may read under; `check` turns sources into paths inside it."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise InputError(f"--root {root} is not a directory")
        self.root = root.resolve()

    def check(self, sources: Sequence[str]) -> list[str]:
        """The sources as paths under the root (relative ones stay relative to it); globs are
        expanded. Raises InputError for stdin, a path outside the root, or a glob matching nothing."""
        checked: list[str] = []
        for source in sources:
            if source.strip() in ("", "-"):
                raise InputError(f"{source!r} is not a path: name files, directories or globs under {self.root}")
            if not os.path.lexists(self.root / source) and GLOB_MAGIC & set(source):
                matches = sorted(glob.glob(source, root_dir=self.root, recursive=True))
                if not matches:
                    raise InputError(f"nothing under {self.root} matches {source}")
                checked.extend(self._inside(match, source) for match in matches)
            else:
                checked.append(self._inside(source, source))
        return checked

    def _inside(self, path: str, named: str) -> str:
        real = Path(os.path.realpath(self.root / path))
        if not real.is_relative_to(self.root):
            raise InputError(
                f"{named} is outside the server's root {self.root}"
                + ("" if real == Path(os.path.normpath(self.root / path)) else f" (it leads to {real})"),
                hint="name paths under the root, or start the server with `rlm mcp --root DIR`",
            )
        return path
