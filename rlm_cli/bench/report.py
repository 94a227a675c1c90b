"""Summaries of bench rows: per (task, size, method) means, `summary.json`, and the Rich table.

Knows nothing of models or tasks' contents; works on rows as written to `items.jsonl`.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from rlm_cli.accounting import total_cost
from rlm_cli.bench.items import size_label
from rlm_cli.bench.runner import Plan, Row

SUMMARY_FILE = "summary.json"
SUMMARY_SCHEMA = 1


def summarize(rows: list[Row], plan: Plan, meta: dict[str, Any]) -> dict[str, Any]:
    """The summary object: run metadata, one group per (task, size, method), means per method."""
    groups = []
    for size in plan.sizes:
        for task in plan.tasks:
            for method in plan.methods:
                chosen = [r for r in rows if (r["task"], r["size"], r["method"]) == (task, size, method)]
                if chosen:
                    groups.append(_group(task, size, method, chosen))
    by_method = {
        method: _mean([r["score"] for r in rows if r["method"] == method])
        for method in plan.methods
        if any(r["method"] == method for r in rows)
    }
    return {
        "schema": SUMMARY_SCHEMA, **meta, "tasks": list(plan.tasks), "sizes": list(plan.sizes),
        "n": plan.n, "seed": plan.seed, "methods": list(plan.methods), "runs": len(rows),
        "groups": groups, "score_by_method": by_method,
    }


def _group(task: str, size: int, method: str, rows: list[Row]) -> dict[str, Any]:
    cost = total_cost(r["cost_usd"] for r in rows)
    return {
        "task": task, "size": size, "size_label": size_label(size), "method": method, "n": len(rows),
        "score": _mean([r["score"] for r in rows]),
        "root_tokens": _mean([r["root_tokens"] for r in rows]),
        "sub_tokens": _mean([r["sub_tokens"] for r in rows]),
        "cost_usd": None if cost is None else round(cost, 6),
        "wall_s": _mean([r["wall_s"] for r in rows]),
        "turns": _mean([r["turns"] for r in rows]),
        "sub_calls": _mean([r["sub_calls"] for r in rows]),
        "truncated": sum(1 for r in rows if r.get("truncated")),
        "errors": sum(1 for r in rows if r.get("error")),
        "stopped_by": dict(Counter(r["stopped_by"] for r in rows)),
        **citation_share(rows),
    }


def citation_share(rows: list[Row]) -> dict[str, Any]:
    """How many answers cite the input, and the share of those whose citations all verify."""
    cited = [r["citations"] for r in rows if r.get("citations")]
    verified = sum(all(status == "verified" for status in statuses) for statuses in cited)
    return {"cited": len(cited), "citations_verified": round(verified / len(cited), 4) if cited else None}


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def write_summary(summary: dict[str, Any], out_dir: Path) -> Path:
    """Write `summary.json`; returns its path."""
    path = out_dir / SUMMARY_FILE
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return path


def summary_table(summary: dict[str, Any]) -> Any:
    """A Rich table, one line per (task, size, method), with the notes (cuts, errors) under it."""
    from rich.console import Group
    from rich.table import Table

    title = f"rlm bench · {summary['model']} · seed {summary['seed']} · means per item"
    table = Table(title=title, title_justify="left", box=None, pad_edge=False, padding=(0, 1), collapse_padding=True,
                  header_style="bold underline")
    for name in ("task", "size", "method"):
        table.add_column(name, no_wrap=True)
    for name in ("n", "score", "root tok", "sub tok", "cost $", "secs", "turns", "subs"):
        table.add_column(name, justify="right", no_wrap=True)
    notes = []
    previous = None
    for group in summary["groups"]:
        where = (group["task"], group["size_label"])
        if previous is not None and where[0] != previous[0]:
            table.add_section()
        shown = where if where != previous else ("", "")
        previous = where
        table.add_row(
            *shown, group["method"], str(group["n"]), f"{group['score']:.2f}",
            _count(group["root_tokens"]), _count(group["sub_tokens"]),
            "?" if group["cost_usd"] is None else f"{group['cost_usd']:.4f}",
            f"{group['wall_s']:.1f}", f"{group['turns']:.1f}", f"{group['sub_calls']:.1f}",
        )
        note = _notes(group)
        if note:
            notes.append(f"{group['task']} {group['size_label']} {group['method']}: {note}")
    return Group(table, *notes) if notes else table


def _count(value: float) -> str:
    for unit, scale in (("M", 1_000_000), ("k", 1_000)):
        if value >= scale:
            return f"{value / scale:.1f}{unit}"
    return f"{value:.0f}"


def _notes(group: dict[str, Any]) -> str:
    notes = []
    if group["truncated"]:
        notes.append(f"truncated {group['truncated']}/{group['n']}")
    if group["errors"]:
        notes.append(f"{group['errors']} error{'s' * (group['errors'] > 1)}")
    if group.get("cited"):
        notes.append(f"citations all verified in {group['citations_verified']:.0%} of {group['cited']} cited")
    limits = {k: v for k, v in group["stopped_by"].items() if k != "answer" and k != "error"}
    notes += [f"{count} {reason}" for reason, count in sorted(limits.items())]
    return ", ".join(notes)
