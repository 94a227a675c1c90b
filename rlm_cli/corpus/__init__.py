"""The `context` object the REPL exposes, rebuilt from the ingest manifest.

In memory it is a Corpus: a real str (the joined text) with the corpus methods. When a document
is past the mapping threshold it is a LazyCorpus instead: memory-mapped, read in blocks, never
loaded whole. Standard library only: the sandboxed worker imports it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rlm_cli.corpus.chunks import Chunk
from rlm_cli.corpus.describe import SMALL_CHARS
from rlm_cli.corpus.documents import Document, Info, MappedDocument
from rlm_cli.corpus.grep import MAX_MATCHES, GrepResult, Match
from rlm_cli.corpus.joined import Skipped
from rlm_cli.corpus.lazy import LazyCorpus
from rlm_cli.corpus.memory import Corpus
from rlm_cli.corpus.readers import BLOCK, InputChanged
from rlm_cli.corpus.text import WholeTextRefused, lazy_hint

__all__ = [
    "BLOCK", "MANIFEST_VERSION", "MAX_MATCHES", "SMALL_CHARS", "Chunk", "Corpus", "Document",
    "GrepResult", "Info", "InputChanged", "LazyCorpus", "MappedDocument", "Match", "Skipped", "WholeTextRefused",
    "from_manifest", "lazy_corpus", "lazy_hint", "load_manifest",
]

MANIFEST_VERSION = 1


def _parsed(data: dict[str, Any]) -> tuple[list[Info], list[Skipped]]:
    if data.get("version") != MANIFEST_VERSION:
        raise ValueError(f"unsupported manifest version {data.get('version')!r}")
    skipped = [Skipped(item["path"], item["reason"]) for item in data.get("skipped", ())]
    return [Info.from_entry(entry) for entry in data["documents"]], skipped


def from_manifest(data: dict[str, Any], *, lazy: bool = False) -> Corpus | LazyCorpus:
    """The corpus a parsed manifest describes: a str Corpus read whole, unless a document is
    memory-mapped (or `lazy`: the host's view, documents read when used, never through a map)
    which gives a LazyCorpus."""
    infos, skipped = _parsed(data)
    if lazy or any(info.mapped for info in infos):
        return LazyCorpus(infos, skipped, buffered=lazy)
    return Corpus.from_infos(infos, skipped)


def lazy_corpus(entries: Iterable[dict[str, Any]], skipped: Iterable[Skipped] = ()) -> LazyCorpus:
    """A LazyCorpus over manifest entries: documents are read when first used, never through a
    memory map (the host's view: a file truncated during the run must not raise SIGBUS here)."""
    return LazyCorpus([Info.from_entry(entry) for entry in entries], skipped, buffered=True)


def load_manifest(path: str | Path, *, lazy: bool = False) -> Corpus | LazyCorpus:
    """The `context` a manifest file describes (see from_manifest)."""
    return from_manifest(json.loads(Path(path).read_text(encoding="utf-8")), lazy=lazy)
