"""Ingestion: sources (paths, globs, directories, `-`) to a Corpus and the manifest the worker reads.

Host side. chardet, pypdf and pathspec are imported lazily, inside functions, never at import.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from rlm_cli.corpus import MANIFEST_VERSION, LazyCorpus, Skipped, lazy_corpus
from rlm_cli.corpus.cite import STDIN_PATH
from rlm_cli.errors import InputError
from rlm_cli.ingest.clock import Clock
from rlm_cli.ingest.documents import Limits, examine_all
from rlm_cli.ingest.mounts import readable_roots
from rlm_cli.ingest.pdfs import PdfParser
from rlm_cli.ingest.remote import add_remote, is_remote
from rlm_cli.ingest.reuse import IngestCache
from rlm_cli.ingest.spool import Spool
from rlm_cli.ingest.walk import Candidate, Walker, read_path_list

if TYPE_CHECKING:
    from rlm_cli.settings import Settings


@dataclass(frozen=True)
class IngestOptions:
    """How sources are read. A file named explicitly ignores max_file_size."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    gitignore: bool = True
    follow_links: bool = False  # follow links that leave the directory being walked
    max_file_size: int = 50 * 1024 * 1024
    mmap_threshold: int = 256 * 1024 * 1024
    max_stdin: int = 64 * 1024**3  # bytes of stdin spooled at most
    git_ref: str | None = None  # what git URL sources check out (None: the remote's HEAD)
    pdf_timeout: float = 60.0  # seconds one PDF may take to parse
    pdf_memory: int = 1024**3  # bytes of heap the PDF parser may use
    timeout: float | None = None  # the run's --timeout: ingestion stops when it passes

    @classmethod
    def from_settings(cls, settings: Settings) -> IngestOptions:
        """The options a run's Settings give."""
        names = ("include", "exclude", "gitignore", "follow_links", "max_file_size", "max_stdin", "git_ref", "pdf_timeout", "pdf_memory", "timeout")
        return cls(**{name: getattr(settings, name) for name in names})


@dataclass(frozen=True)
class IngestResult:
    """The corpus (the host's lazy view), the skipped inputs, and the manifest for the worker."""

    corpus: LazyCorpus
    manifest_path: Path
    roots: tuple[str, ...] = ()  # what the sandboxed worker may read: exactly the inputs and the spool
    reused: int = 0  # files whose entries came from the ingest cache, unchanged since an earlier run

    @property
    def skipped(self) -> list[Skipped]:
        """Every input left out, with its reason."""
        return self.corpus.skipped

    def summary(self) -> dict[str, int]:
        """Documents, bytes and skipped counts (the `--json` input block)."""
        return self.corpus.summary()


def ingest(
    sources: list[str], options: IngestOptions, *, spool_dir: Path,
    paths_from: str | None = None, stdin: BinaryIO | None = None, reuse: Path | None = None,
) -> IngestResult:
    """Read every source into a Corpus and write its manifest into spool_dir.

    `reuse`: the ingest cache's directory; files unchanged since an earlier run of the same
    sources and options are not read again (stdin always is).
    """
    with _fewer_collections():
        return _ingest(sources, options, spool_dir, paths_from, stdin, reuse)


class _FewerCollections:
    """Let the cyclic garbage collector run less often while ingest builds its many objects.

    Ingest makes few reference cycles, but a collection walks every object made so far: on a
    50,000-file tree the default thresholds cost a tenth of the run. The threshold is
    process-wide, so ingests running at once (child runs) share one change: the first raises it,
    the last puts back what it found.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._found: tuple[int, ...] = ()

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._users == 0:
                self._found = gc.get_threshold()
                gc.set_threshold(max(self._found[0], 20_000), *self._found[1:])
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    gc.set_threshold(*self._found)


_fewer_collections = _FewerCollections()


def _ingest(
    sources: list[str], options: IngestOptions, spool_dir: Path, paths_from: str | None, stdin: BinaryIO | None,
    reuse: Path | None,
) -> IngestResult:
    clock = Clock(options.timeout)
    spool = Spool(spool_dir, clock)
    stream = stdin if stdin is not None else sys.stdin.buffer
    walker = Walker(
        include=options.include, exclude=options.exclude, gitignore=options.gitignore,
        follow_links=options.follow_links, clock=clock,
    )
    every = [*sources, *_listed(paths_from, stream)]
    cache = None if reuse is None or "-" in every else IngestCache(reuse, every, _cache_options(options))
    for source in every:
        if source == "-":
            _add_stdin(walker, spool, stream, options.max_stdin)
        elif is_remote(source):
            add_remote(source, walker, spool, options)
        else:
            walker.add_source(source)
    entries: list[dict[str, Any]] = []
    skipped = list(walker.skipped)
    limits = Limits(options.max_file_size, options.mmap_threshold)
    pdfs = PdfParser(options.pdf_timeout, options.pdf_memory, spool, clock)
    try:
        for result in examine_all(walker.candidates, limits, spool, pdfs, cache):
            if isinstance(result, Skipped):
                skipped.append(result)
            else:
                entries.append(result)
    finally:
        pdfs.close()
    _require_text(entries, skipped, walker, sources)
    roots = readable_roots(walker.roots, walker.hidden, entries, spool)
    manifest = {
        "version": MANIFEST_VERSION,
        "documents": entries,
        "skipped": [{"path": path, "reason": reason} for path, reason in skipped],
        "roots": roots,
    }
    manifest_path = spool.directory / "manifest.json"
    # ASCII JSON: a file name that is not UTF-8 travels as its surrogate escapes and opens as it is
    manifest_path.write_text(json.dumps(manifest, separators=(",", ":")), encoding="ascii")
    if cache is not None:
        cache.save()
    return IngestResult(lazy_corpus(entries, skipped), manifest_path, tuple(roots), cache.reused if cache else 0)


def _cache_options(options: IngestOptions) -> dict[str, Any]:
    """The options that decide what the walk finds and what an entry says (the ingest cache's key)."""
    names = ("include", "exclude", "gitignore", "follow_links", "max_file_size", "mmap_threshold")
    return {name: getattr(options, name) for name in names}


def _listed(paths_from: str | None, stream: BinaryIO) -> list[str]:
    if paths_from is None:
        return []
    if paths_from == "-":
        return read_path_list(stream)
    try:
        with open(paths_from, "rb") as handle:
            return read_path_list(handle)
    except OSError as error:
        raise InputError(f"cannot read --paths-from {paths_from}: {error.strerror}") from None


def _add_stdin(walker: Walker, spool: Spool, stream: BinaryIO, cap: int) -> None:
    path = spool.stdin(stream, cap)
    size = path.stat().st_size
    if size == 0:
        walker.skipped.append(Skipped(STDIN_PATH, "empty"))
        return
    walker.add_file(Candidate(STDIN_PATH, str(path), size, explicit=True, kind="stdin"))


def _require_text(entries: list[dict[str, Any]], skipped: list[Skipped], walker: Walker, sources: list[str]) -> None:
    """Raise InputError when nothing readable remains."""
    if any(entry["chars"] != 0 for entry in entries):
        return
    if entries:
        raise InputError(f"nothing to read: {len(entries):,} documents, all empty")
    if sources == ["-"]:
        reason = next((item.reason for item in skipped if item.path == STDIN_PATH), "empty")
        raise InputError(
            "stdin is empty" if reason == "empty" else f"nothing readable on stdin: {reason}",
            hint='pipe text in (cat big.log | rlm ask "why?") or name files: rlm ask ./repo "why?"',
        )
    if walker.missing and len(walker.missing) == len(sources):
        missing = walker.missing[0]
        if set("*?[") & set(missing) and not os.path.lexists(missing):
            raise InputError(f"no file matches {missing}", hint="check the pattern; ** matches any depth (quote it so the shell leaves it alone)")
        raise InputError(
            f"no such file or directory: {missing}",
            hint='check the path; the SOURCEs come first and the question last: rlm ask ./repo "where is auth handled?"',
        )
    reasons = Counter(item.reason.split(":")[0].split(" (")[0] for item in skipped)
    detail = ", ".join(f"{count:,} {reason}" for reason, count in reasons.most_common())
    raise InputError(
        f"nothing readable in {' '.join(sources) or 'the listed paths'}" + (f" ({detail})" if detail else ""),
        hint="rlm ask -v lists skipped files; --no-gitignore and --max-file-size widen the walk",
    )
