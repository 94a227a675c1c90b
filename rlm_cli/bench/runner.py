"""Runs a bench plan: items in parallel, every result appended to `items.jsonl` as it lands.

Resumable: rows already in the file for the same item, method, seed and models are not run again,
unless they ended in an error (a provider outage, say), which a re-run retries.
"""

from __future__ import annotations

import json
import queue
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rlm_cli.bench.items import size_label
from rlm_cli.bench.methods import METHODS, MethodConfig
from rlm_cli.bench.scoring import score
from rlm_cli.bench.tasks import generate

ITEMS_FILE = "items.jsonl"
Row = dict[str, Any]
_KEY = ("task", "size", "index", "method", "seed", "model", "sub_model")


@dataclass(frozen=True)
class Plan:
    """What to run: every task x size x item index x method."""

    tasks: tuple[str, ...]
    sizes: tuple[int, ...]
    n: int
    seed: int
    methods: tuple[str, ...]

    def units(self) -> Iterator[tuple[str, int, int]]:
        """(task, size, index) in a stable order: small inputs first, so early rows come fast."""
        for size in self.sizes:
            for task in self.tasks:
                for index in range(self.n):
                    yield task, size, index

    @property
    def runs(self) -> int:
        """How many (item, method) runs the plan holds."""
        return len(self.tasks) * len(self.sizes) * self.n * len(self.methods)


def row_key(row: Row) -> tuple[Any, ...]:
    """What makes two rows the same run, for resuming."""
    return tuple(row.get(name) for name in _KEY)


def load_rows(path: Path) -> list[Row]:
    """Rows of an earlier run; a line cut short by an interruption is ignored."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def run_plan(plan: Plan, config: MethodConfig, out_dir: Path, jobs: int, on_row: Callable[[Row, bool], None]) -> list[Row]:
    """Run what `out_dir` does not hold yet; return this plan's rows (earlier ones included).

    `on_row(row, resumed)` is called for each row, from the calling thread.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / ITEMS_FILE
    settings = config.settings
    identity = {"seed": plan.seed, "model": settings.model, "sub_model": settings.effective_sub_model}
    earlier = {row_key(row): row for row in load_rows(path) if not row.get("error")}
    rows: list[Row] = []
    pending: list[tuple[str, int, int, list[str]]] = []
    for task, size, index in plan.units():
        todo = []
        for method in plan.methods:
            found = earlier.get(row_key({"task": task, "size": size, "index": index, "method": method, **identity}))
            if found is None:
                todo.append(method)
            else:
                rows.append(found)
                on_row(found, True)
        if todo:
            pending.append((task, size, index, todo))
    with path.open("a", encoding="utf-8") as sink:
        for row in _parallel(pending, jobs, lambda unit: _run_unit(unit, config, identity)):
            sink.write(json.dumps(row) + "\n")
            sink.flush()
            rows.append(row)
            on_row(row, False)
    return rows


def _run_unit(unit: tuple[str, int, int, list[str]], config: MethodConfig, identity: dict[str, Any]) -> Iterator[Row]:
    """Generate one item once and answer it by each pending method."""
    task, size, index, methods = unit
    item = generate(task, size, identity["seed"], index)
    for method in methods:
        outcome = METHODS[method](item, config)
        result = score(item.scoring, outcome.answer, item.answer)
        fields = asdict(outcome)
        extra = fields.pop("extra")
        yield {
            "task": task, "size": size, "size_label": size_label(size), "index": index, "method": method,
            **identity, "score": round(result.value, 4), "detail": result.detail,
            "input_chars": len(item.as_text()), **fields, "wall_s": round(outcome.wall_s, 3),
            "truncated": extra.get("truncated", False), "kept_fraction": extra.get("kept_fraction", 1.0),
            "citations": extra.get("citations", []),  # each citation's status, in answer order
            "expected": item.answer,
        }


def _parallel(units: list[Any], jobs: int, work: Callable[[Any], Iterator[Row]]) -> Iterator[Row]:
    """Rows from `work(unit)` over a pool of `jobs` threads, yielded in the calling thread as they land.

    The first unit that fails raises here; when the caller stops (Ctrl-C, an error), units not
    started are dropped and those running finish their item (each is bounded by its own limits).
    """
    landed: queue.SimpleQueue[Row | Future[None]] = queue.SimpleQueue()

    def run(unit: Any) -> None:
        for row in work(unit):
            landed.put(row)

    pool = ThreadPoolExecutor(max_workers=max(1, min(jobs, len(units))), thread_name_prefix="rlm-bench")
    try:
        futures = [pool.submit(run, unit) for unit in units]
        for future in futures:
            future.add_done_callback(landed.put)  # after the unit's last row
        for _ in futures:
            while not isinstance(item := landed.get(), Future):
                yield item
            item.result()  # a unit that failed raises here
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
