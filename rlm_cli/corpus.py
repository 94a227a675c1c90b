"""Corpus and Document: the `context` object the REPL exposes. Standard library only.

Placeholder of the manifest contract; the ingestion work replaces it with the full Corpus.
Manifest (JSON): {"version": 1, "documents": [{"path", "file", "encoding", "size", "kind",
"pages", "mmap"}], "skipped": [{"path", "reason"}], "roots": [paths the worker must read]}.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class Document:
    """One input document, read lazily from its file."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self.path: str = entry["path"]
        self.file: str = entry["file"]
        self.encoding: str = entry.get("encoding") or "utf-8"

    @property
    def text(self) -> str:
        return Path(self.file).read_bytes().decode(self.encoding, errors="replace")


class Corpus:
    """All documents, usable like one string."""

    def __init__(self, documents: list[Document]) -> None:
        self.documents = documents

    @property
    def text(self) -> str:
        return "\n".join(f"=== {doc.path} ===\n{doc.text}" for doc in self.documents)

    def __str__(self) -> str:
        return self.text

    def __len__(self) -> int:
        return len(self.text)


def load_manifest(path: str | Path) -> Corpus:
    """Rebuild the Corpus a manifest file describes."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return Corpus([Document(entry) for entry in data["documents"]])
