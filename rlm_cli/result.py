"""RunResult: what one run produced, and its stable `--json` form (schema 1, additive only).

Imports `accounting` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rlm_cli.accounting import empty_usage

SCHEMA_VERSION = 1


@dataclass
class RunResult:
    """The outcome of a run: the fields of the `--json` object plus the exit code."""

    answer: str = ""
    ready: bool = False
    stopped_by: str = "error"
    model: str = ""
    sub_model: str = ""
    iterations: int = 0
    sub_calls: int = 0
    depth: int = 1
    usage: dict[str, dict[str, Any]] = field(default_factory=empty_usage)
    elapsed_s: float = 0.0
    input: dict[str, Any] = field(default_factory=lambda: {"documents": 0, "bytes": 0, "skipped": 0})
    trace: str | None = None
    error: str | None = None
    hint: str | None = None
    exit_code: int = 0
    run_id: str | None = None
    citations: list[dict[str, Any]] = field(default_factory=list)  # each checked against the input
    concurrency: dict[str, int] | None = None  # the adaptive limit's trace (concurrency.LimitTrace)

    def to_json_dict(self) -> dict[str, Any]:
        """The `--json` object. Keys are only ever added, never renamed or removed."""
        return {
            "answer": self.answer,
            "ready": self.ready,
            "schema": SCHEMA_VERSION,
            "stopped_by": self.stopped_by,
            "model": self.model,
            "sub_model": self.sub_model,
            "iterations": self.iterations,
            "sub_calls": self.sub_calls,
            "depth": self.depth,
            "usage": self.usage,
            "elapsed_s": round(self.elapsed_s, 3),
            "input": self.input,
            "trace": self.trace,
            "error": self.error,
            "hint": self.hint,
            "exit_code": self.exit_code,
            "run_id": self.run_id,
            "citations": self.citations,
            "concurrency": self.concurrency,
        }
