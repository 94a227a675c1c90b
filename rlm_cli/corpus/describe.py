"""The bounded overview of a corpus the root model reads first: counts, sizes, a path tree, a preview.

Standard library only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rlm_cli.units import estimate_tokens, nbytes

if TYPE_CHECKING:
    from rlm_cli.corpus.documents import Info
    from rlm_cli.corpus.joined import CorpusMethods

SMALL_CHARS = 64_000  # ~21K tokens: below this, reading the input whole beats exploring it
_TREE_SHAPES = ((99, 10**6), (99, 30), (6, 20), (4, 12), (3, 8), (2, 8), (2, 4), (1, 10), (1, 4), (1, 2))
_PREVIEW_CHARS = 500
_KIND_LABELS = {"text": "text file", "pdf": "PDF", "stdin": "stdin stream"}


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _counts(values: Iterable[str]) -> str:
    return ", ".join(f"{value} ({count:,})" for value, count in Counter(values).most_common())


def form(corpus: CorpusMethods) -> str:
    """Which form `context` has (a str, or the lazy mapped text) and what works on it."""
    if corpus.mapped:
        return (
            f"`context` is a lazy memory-mapped text ({nbytes(corpus.size)}), not a str: len(), slices, `in`, "
            ".count(), .find(), .grep(), .chunks()/.iter_chunks() read it in blocks (first scan ~1 s/GB); "
            ".lines() (also .splitlines(), .split('\\n')) is a lazy list of its lines (len, index, slice, "
            "iterate); str-only operations that need the whole text (re.* or json.loads on context, "
            "str(context), .split()) are refused: use context.grep(pattern), context.iter_chunks(max_chars), "
            "or str(context[a:b]) on a slice."
        )
    length = f" ({len(corpus):,} characters)" if _all_known(corpus) else ""
    if len(corpus._infos) == 1:
        return (
            f"`context` is a str{length}: the document's text as it is; re, json and "
            "str methods work on it directly, and it also has .grep(), .chunks(), .describe()."
        )
    return (
        f"`context` is a str{length}: every document as a `=== path ===` line then its "
        "text, joined by newlines; re, json and str methods work on it directly. For per-file work, "
        "`for doc in context.documents` gives each document as a str with .path; context[path] reads one."
    )


def overview(corpus: CorpusMethods, max_chars: int) -> str:
    """The overview of `corpus`, at most max_chars characters."""
    infos = corpus._infos
    if not infos:
        return "The context is empty: no documents."[:max_chars]
    lines = [_headline(corpus), form(corpus)]
    if corpus.skipped:
        reasons = (item.reason.split(":")[0].split(" (")[0] for item in corpus.skipped)
        lines.append(f"Skipped {len(corpus.skipped):,} inputs: {_counts(reasons)}.")
    lines.append(f"Encodings: {_counts(info.encoding for info in infos)}.")
    for info in [info for info in infos if info.mapped][:3]:
        lines.append(f"{info.path} is memory-mapped; its encoding was judged from its start.")
    noted = [info for info in infos if info.note]
    lines += [f"Note, {info.path}: {info.note}" for info in noted[:5]]
    if len(noted) > 5:
        lines.append(f"({len(noted) - 5:,} more documents carry notes: see document.note)")
    if _all_known(corpus) and len(corpus) <= SMALL_CHARS:
        lines.append(
            f"The whole input is small (~{estimate_tokens(len(corpus)):,} tokens): print(context) and read it "
            "whole before anything else."
        )
    preview = f"Start of {infos[0].path}:\n" + "\n".join(
        "  " + line for line in corpus._head(0, _PREVIEW_CHARS).splitlines()[:12]
    )
    fixed = "\n".join(lines)
    budget = max_chars - len(fixed) - len(preview) - 20
    text = fixed + "\nFiles:\n" + _tree(infos, budget) + "\n" + preview
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def _all_known(corpus: CorpusMethods) -> bool:
    return all(corpus._known_length(number) is not None for number in range(len(corpus._infos)))


def _headline(corpus: CorpusMethods) -> str:
    infos = corpus._infos
    kinds = Counter(info.kind for info in infos)
    parts = []
    for kind, count in kinds.most_common():
        label = _KIND_LABELS.get(kind, kind) + ("s" if count > 1 else "")
        if kind == "pdf":
            label += f" ({sum(len(info.pages or ()) for info in infos):,} pages)"
        parts.append(f"{count:,} {label}")
    size = nbytes(corpus.size)
    length = f"{len(corpus):,} characters, ~{estimate_tokens(len(corpus)):,} tokens" if _all_known(corpus) else "characters counted on first use"
    return f"`context` holds {plural(len(infos), 'document')} ({', '.join(parts)}): {size}, {length}."


class _Folder:
    """A directory of the path tree, with the files and bytes below it."""

    def __init__(self) -> None:
        self.folders: dict[str, _Folder] = {}
        self.files: list[tuple[str, int]] = []
        self.count = 0
        self.bytes = 0


class _TreeFull(Exception):
    """The rendered tree passed its budget."""


def _tree(infos: list[Info], budget: int) -> str:
    root = _Folder()
    for info in infos:
        *folders, name = info.path.split("/")
        if folders and folders[0] == "":  # an absolute path: keep its leading slash
            folders = ["/" + folders[1], *folders[2:]] if len(folders) > 1 else []
            name = name if folders else "/" + name
        node = root
        for part in [None, *folders]:
            node = node if part is None else node.folders.setdefault(part, _Folder())
            node.count += 1
            node.bytes += info.size
        node.files.append((name, info.size))
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
            emit(f"{indent}… {len(rest):,} more entries ({plural(files, 'file')}, {nbytes(size)})")
            return
        if isinstance(entry, int):
            emit(f"{indent}{name} ({nbytes(entry)})")
            continue
        while not entry.files and len(entry.folders) == 1:  # show a/b/c/ as one line
            (inner, entry), = entry.folders.items()
            name = f"{name}/{inner}"
        emit(f"{indent}{name}/ ({plural(entry.count, 'file')}, {nbytes(entry.bytes)})")
        if depth > 1:
            _render(entry, indent + "  ", depth - 1, width, rows, left)
