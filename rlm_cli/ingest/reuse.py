"""The ingest cache: a file unchanged since an earlier run of the same sources is not read again.

The walk still runs (it finds added, removed and newly ignored files); each file it finds is
stat'ed, and one whose size, modification and change times and inode match what an earlier run
recorded takes that run's manifest entry instead of being opened, read and decoded. One JSON
file per (working directory, sources, options) under the cache directory, replaced atomically,
so runs at once never see half of one. Standard library only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

VERSION = 1
KEPT = 32  # cache files at most (one per set of sources and options); the oldest go first
# A file changed this close before the ingest started is not kept: a second change within the
# file system's timestamp granularity (a second on some) would leave its stamp as it was.
RACY_NS = 2_000_000_000

Stamp = list[int]  # size, mtime_ns, ctime_ns, inode


def stamp(info: os.stat_result) -> Stamp:
    """What says a file is unchanged: its size, modification and change times, inode."""
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]


class IngestCache:
    """The manifest entries of one set of sources, from an earlier run and for the next."""

    def __init__(self, directory: Path, sources: list[str], options: dict[str, Any]) -> None:
        key = json.dumps({"v": VERSION, "cwd": os.getcwd(), "sources": sources, "options": options}, sort_keys=True, default=str)
        self.directory = directory
        self.path = directory / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")
        self._earlier = _load(self.path)
        self._entries: dict[str, dict[str, Any]] = {}
        self._stamps: dict[str, Stamp] = {}
        self._settled = time.time_ns() - RACY_NS  # files changed before this may be kept
        self.reused = 0

    def lookup(self, file: str, info: os.stat_result) -> dict[str, Any] | None:
        """The earlier entry of `file` when it is unchanged (`info`: its stat now), else None."""
        now = stamp(info)
        self._stamps[file] = now
        earlier = self._earlier.get(file)
        if earlier is None or earlier["stamp"] != now:
            return None
        self.reused += 1
        entry: dict[str, Any] = earlier["entry"]
        self._entries[file] = entry
        return entry

    def keep(self, file: str, entry: dict[str, Any]) -> None:
        """Record `file`'s entry for the next run (only one that reads the file itself, and had
        not changed just before the ingest started)."""
        now = self._stamps.get(file)
        if now is not None and entry.get("file") == file and max(now[1], now[2]) < self._settled:
            self._entries[file] = entry

    def save(self) -> None:
        """Write what this run found (nothing when it all came from the cache); a cache that
        cannot be written is left as it was."""
        if self.reused == len(self._entries) == len(self._earlier):
            return
        files = {file: {"stamp": self._stamps[file], "entry": entry} for file, entry in self._entries.items()}
        with contextlib.suppress(OSError):
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            try:
                with os.fdopen(handle, "w", encoding="ascii") as out:
                    json.dump({"version": VERSION, "files": files}, out, separators=(",", ":"))
                os.replace(temporary, self.path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary)
            _prune(self.directory)


def ingest_cache(root: Path) -> Path:
    """The ingest cache's folder under a cache directory (settings.cache_dir)."""
    return root / "ingest"


def clear(directory: Path) -> int:
    """Remove every ingest cache file under `directory`; returns how many there were."""
    removed = 0
    for path in directory.glob("*.json"):
        with contextlib.suppress(OSError):
            path.unlink()
            removed += 1
    return removed


def _load(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="ascii"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("files"), dict):
        return {}
    return data["files"]


def _prune(directory: Path) -> None:
    """Keep the KEPT most recently written cache files."""
    found = []
    for path in directory.glob("*.json"):
        with contextlib.suppress(OSError):
            found.append((path.stat().st_mtime_ns, path))
    for _, path in sorted(found, reverse=True)[KEPT:]:
        with contextlib.suppress(OSError):
            path.unlink()
