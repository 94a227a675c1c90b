"""The bounded overview of a corpus the root model reads first: counts, sizes, a path tree, a preview.

Also the byte-size formatting the reprs share. Standard library only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rlm_cli.corpus import Corpus
    from rlm_cli.corpus.documents import Document

SMALL_CHARS = 64_000  # ~16K tokens: below this, reading the input whole beats exploring it
_TREE_SHAPES = ((99, 10**6), (99, 30), (6, 20), (4, 12), (3, 8), (2, 8), (2, 4), (1, 10), (1, 4), (1, 2))
_PREVIEW_CHARS = 500
_KIND_LABELS = {"text": "text file", "pdf": "PDF", "stdin": "stdin stream"}


def human(size: float) -> str:
    """A byte count as B, KiB, MiB or GiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _counts(values: Iterable[str]) -> str:
    return ", ".join(f"{value} ({count:,})" for value, count in Counter(values).most_common())


def overview(corpus: Corpus, max_chars: int) -> str:
    """The overview of `corpus`, at most max_chars characters."""
    documents = corpus.documents
    if not documents:
        return "The context is empty: no documents."[:max_chars]
    lines = [_headline(corpus)]
    lines.append(
        "str(context) is the document's text as it is; len(), slices and offsets count its characters."
        if len(documents) == 1 else
        "str(context) is every document as a `=== path ===` line then its text, joined by "
        "newlines; len(), slices and offsets count characters of that text."
    )
    if corpus.skipped:
        reasons = (item.reason.split(":")[0].split(" (")[0] for item in corpus.skipped)
        lines.append(f"Skipped {len(corpus.skipped):,} inputs: {_counts(reasons)}.")
    lines.append(f"Encodings: {_counts(document.encoding for document in documents)}.")
    for document in [document for document in documents if document.mapped][:3]:
        lines.append(
            f"{document.path} is memory-mapped: grep/count/slices/chunks stream it (first scan ~1 s/GB); "
            "str() would load it whole; its encoding was judged from its start."
        )
    noted = [document for document in documents if document.note]
    lines += [f"Note, {document.path}: {document.note}" for document in noted[:5]]
    if len(noted) > 5:
        lines.append(f"({len(noted) - 5:,} more documents carry notes: see document.note)")
    if all(length is not None for length in _lengths(corpus)) and len(corpus) <= SMALL_CHARS:
        lines.append(
            f"The whole input is small (~{len(corpus) // 4:,} tokens): print(context) and read it "
            "whole before anything else."
        )
    preview = _preview(documents[0])
    fixed = "\n".join(lines)
    budget = max_chars - len(fixed) - len(preview) - 20
    text = fixed + "\nFiles:\n" + _tree(documents, budget) + "\n" + preview
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def _lengths(corpus: Corpus) -> list[int | None]:
    return [document.known_length for document in corpus.documents]


def _headline(corpus: Corpus) -> str:
    documents = corpus.documents
    kinds = Counter(document.kind for document in documents)
    parts = []
    for kind, count in kinds.most_common():
        label = _KIND_LABELS.get(kind, kind) + ("s" if count > 1 else "")
        if kind == "pdf":
            label += f" ({sum(document.page_count for document in documents):,} pages)"
        parts.append(f"{count:,} {label}")
    size = human(sum(document.size for document in documents))
    if any(length is None for length in _lengths(corpus)):
        length = "characters counted on first use"
    else:
        length = f"{len(corpus):,} characters, ~{len(corpus) // 4:,} tokens"
    return f"`context` holds {_plural(len(documents), 'document')} ({', '.join(parts)}): {size}, {length}."


def _preview(document: Document) -> str:
    head = document.head(_PREVIEW_CHARS)
    shown = "\n".join("  " + line for line in head.splitlines()[:12])
    return f"Start of {document.path}:\n{shown}"


class _Folder:
    """A directory of the path tree, with the files and bytes below it."""

    def __init__(self) -> None:
        self.folders: dict[str, _Folder] = {}
        self.files: list[tuple[str, int]] = []
        self.count = 0
        self.bytes = 0


class _TreeFull(Exception):
    """The rendered tree passed its budget."""


def _tree(documents: list[Document], budget: int) -> str:
    root = _Folder()
    for document in documents:
        *folders, name = document.path.split("/")
        if folders and folders[0] == "":  # an absolute path: keep its leading slash
            folders = ["/" + folders[1], *folders[2:]] if len(folders) > 1 else []
            name = name if folders else "/" + name
        node = root
        for part in [None, *folders]:
            node = node if part is None else node.folders.setdefault(part, _Folder())
            node.count += 1
            node.bytes += document.size
        node.files.append((name, document.size))
    for depth, width in _TREE_SHAPES:
        rows: list[str] = []
        try:
            _render(root, "", depth, width, rows, [budget])
        except _TreeFull:
            continue
        return "\n".join(rows)
    return f"{root.count:,} files in {len(root.folders):,} top-level folders (too many to list)"


def _render(node: _Folder, indent: str, depth: int, width: int, rows: list[str], left: list[int]) -> None:
    def emit(row: str) -> None:
        left[0] -= len(row) + 1
        if left[0] < 0:
            raise _TreeFull
        rows.append(row)

    entries: list[tuple[str, _Folder | int]] = [*sorted(node.folders.items()), *sorted(node.files)]
    for position, (name, entry) in enumerate(entries):
        if position == width:
            rest = entries[width:]
            files = sum(1 if isinstance(item, int) else item.count for _, item in rest)
            size = sum(item if isinstance(item, int) else item.bytes for _, item in rest)
            emit(f"{indent}… {len(rest):,} more entries ({_plural(files, 'file')}, {human(size)})")
            return
        if isinstance(entry, int):
            emit(f"{indent}{name} ({human(entry)})")
            continue
        while not entry.files and len(entry.folders) == 1:  # show a/b/c/ as one line
            (inner, entry), = entry.folders.items()
            name = f"{name}/{inner}"
        emit(f"{indent}{name}/ ({_plural(entry.count, 'file')}, {human(entry.bytes)})")
        if depth > 1:
            _render(entry, indent + "  ", depth - 1, width, rows, left)
