"""What the sandboxed worker may read: exactly the inputs, never a wider folder.

The roots are the walked directories, the named files, the spool, and files reached through a
followed link. Credential folders found inside a walked directory are cut out of it (its other
entries are listed instead). Past MAX_BINDS roots, one bind mount each would make every worker
start slow (bubblewrap: ~0.1 s per 100 mounts, 1.7 s for 700) and bubblewrap refuses more than
9,000 arguments: the inputs are then snapshotted into the spool (hard links, or copies across
disks) and the spool alone is readable.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from rlm_cli.ingest.spool import Spool
from rlm_cli.ingest.walk import under

MAX_BINDS = 64


def readable_roots(roots: Iterable[str], hidden: Iterable[str], entries: list[dict[str, Any]], spool: Spool) -> list[str]:
    """The paths the worker must read; may move `entries` into a spool snapshot (their "file")."""
    spooled = str(spool.directory)
    kept = exact_roots([*roots, spooled], [entry["file"] for entry in entries], hidden)
    if len(kept) <= MAX_BINDS:
        return kept
    for entry in entries:
        if not under(entry["file"], spooled):
            entry["file"] = str(spool.adopt(entry["file"]))
    return [spooled]


def exact_roots(roots: list[str], files: list[str], hidden: Iterable[str] = ()) -> list[str]:
    """Roots and stray files, minus those inside another root, with `hidden` paths cut out.

    A hidden path named as a root itself (or holding one) stays readable there: the user named it.
    """
    prefixes = tuple(root.rstrip("/") + "/" for root in roots)
    # Files outside every root come from followed links; most files are under a walked root.
    paths = {*roots, *(file for file in files if not file.startswith(prefixes))}
    for secret in set(hidden) - paths:
        for holder in [path for path in paths if under(secret, path)]:
            paths.remove(holder)
            if holder != secret:  # a secret another one's split listed is simply dropped
                paths.update(_around(secret, holder))
    kept: list[str] = []
    for path in sorted(paths, key=_parts):  # sorted by parts: a folder comes right before what it holds
        if not kept or not under(path, kept[-1]):
            kept.append(path)
    return kept


def _around(secret: str, holder: str) -> list[str]:
    """The entries of `holder`, level by level down to `secret`, except the path to it."""
    found: list[str] = []
    folder = holder
    for name in os.path.relpath(secret, holder).split("/"):
        try:
            with os.scandir(folder) as listing:
                # links are left out: what they point at, if needed, is a root of its own
                found += [entry.path for entry in listing if entry.name != name and not entry.is_symlink()]
        except OSError:
            pass
        folder = os.path.join(folder, name)
    return found


def _parts(path: str) -> list[str]:
    return path.split("/")
