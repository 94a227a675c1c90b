"""Citations on output: links (OSC 8, `file://` with the line) in the answer and a "Sources" list
under it on a terminal; one stderr line per moved or unsupported citation everywhere else.

Reads the `--json` citation items only (a run's result or its trace); cited text comes from the
input, so everything shown passes through termsafe.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from markdown_it import MarkdownIt
from rich.markdown import Markdown
from rich.style import Style
from rich.text import Text

from rlm_cli.termsafe import visible

Item = dict[str, Any]
_MARK = {"verified": ("✓", "green"), "moved": ("↪", "yellow"), "unsupported": ("✗", "red")}
_SHOWN = 100  # characters of a cited line the Sources list shows


def notes(citations: Sequence[Item]) -> str:
    """One `rlm:` line per moved or unsupported citation (terminal-safe)."""
    lines = []
    for item in citations:
        if item.get("status") == "unsupported":
            lines.append(f"rlm: unsupported citation {item.get('cited')}: {item.get('note') or 'not found in the input'}")
        elif item.get("status") == "moved":
            lines.append(f"rlm: citation {item.get('cited')} corrected to {item.get('cite')} (its quote is there)")
    return "".join(visible(line) + "\n" for line in lines)


def link(item: Item) -> str | None:
    """The `file://` URL a citation opens: the line as the fragment (`#42`), a PDF's `#page=N`."""
    file = item.get("file")
    if not file or item.get("status") == "unsupported":
        return None
    url = "file://" + quote(str(file))
    if item.get("page"):
        return f"{url}#page={item['page']}"
    return f"{url}#{item['line_start']}" if item.get("line_start") else url


def linked_markdown(answer: str, citations: Sequence[Item]) -> Markdown:
    """The answer (already terminal-safe) as Markdown whose citations are links to their files;
    an unsupported one is marked ⚠. Only the links made here may point at files."""
    targets = {str(item["cite"]): item for item in citations if item.get("cite")}
    urls: set[str] = set()
    if not targets:
        return Markdown(answer)

    def replace(found: re.Match[str]) -> str:
        tick, cite = found["tick"], found["cite"]
        item = targets[cite]
        url = link(item)
        if url is None:
            return found.group() + (" ⚠" if item.get("status") == "unsupported" else "")
        urls.add(url)
        return f"[{tick}{cite}{tick}](<{url}>)"

    pattern = "|".join(re.escape(cite) for cite in sorted(targets, key=len, reverse=True))
    text = re.sub(rf"(?<![\w/.\[])(?P<tick>`?)(?P<cite>{pattern})(?P=tick)(?![\w\-/])", replace, answer)
    return _FileLinks(text, urls)


class _FileLinks(Markdown):
    """Markdown that keeps the `file://` links it is given (Markdown parsers drop file links)."""

    def __init__(self, markup: str, urls: set[str]) -> None:
        super().__init__(markup)
        parser = MarkdownIt().enable("strikethrough").enable("table")
        default = parser.validateLink
        parser.validateLink = lambda url: url in urls or default(url)  # type: ignore[method-assign]  # our links only
        self.parsed = parser.parse(markup)


def sources(citations: Sequence[Item]) -> Text:
    """The "Sources" list: each cited place once, with its status and the cited line's text."""
    text = Text()
    text.append("Sources\n", style="bold")
    seen: set[str] = set()
    for item in citations:
        cite = str(item.get("cite"))
        if cite in seen:
            continue
        seen.add(cite)
        mark, colour = _MARK.get(str(item.get("status")), ("?", ""))
        url = link(item)
        text.append(f"  {mark} ", style=colour)
        text.append(visible(cite), style=Style(link=url) if url else None)
        if item.get("status") == "unsupported":
            text.append(f"  {visible(str(item.get('note') or ''))}", style="dim")
        else:
            shown = str(item.get("text") or "")
            text.append("  " + visible(shown if len(shown) <= _SHOWN else shown[: _SHOWN - 1] + "…"))
            if item.get("status") == "moved":
                text.append(f"  (cited as {visible(str(item.get('cited')))})", style="dim")
        text.append("\n")
    text.rstrip()
    return text
