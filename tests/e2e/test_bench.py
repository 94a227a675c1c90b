"""`rlm bench` end to end against the fake provider, with scripted policies of known skill.

The root policy really works on `context` in the REPL (regexes, grep, llm_batch); the sub-model
labels records by rule. Each policy is wrong on purpose for some items, so every score in the
summary is checked against what that policy must get.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from rlm_cli.bench.items import Item
from rlm_cli.bench.methods import direct_prompt
from rlm_cli.bench.tasks import TASKS, generate
from rlm_cli.bench.tasks.codeqa import ROLES
from rlm_cli.bench.tasks.niah import needle_sentence
from rlm_cli.units import CHARS_PER_TOKEN
from tests.e2e.helpers import FAST_RETRIES, rlm
from tests.fakes.bench_policy import root_policy, sub_rule
from tests.fakes.provider import FakeProvider

SIZE, N, WINDOW = 2_000, 3, 1_600  # tokens; the window cuts the direct baseline's input


# What each method must score -------------------------------------------------------------------
def expected_rlm(item: Item, subs: bool) -> float:
    task = item.task
    if task in ("aggregate", "pairs") and not subs:
        return 0.0
    if task == "niah":
        return float(item.meta["kind"] != "word")
    if task == "multi-niah":
        return 0.5 if item.meta["kind"] == "number" else 1.0
    if task == "aggregate":
        return 0.75 if item.meta["question"] == "count" else 1.0
    if task == "pairs":
        gold = len(item.answer)
        return 2 * (gold - 1) / (2 * gold - 1)
    if task == "codeqa":
        return float(item.index % len(ROLES) != 1)
    return float(int(item.meta["order_id"][4:]) % 2 == 0)


def expected_direct(item: Item) -> float:
    if item.task not in ("niah", "multi-niah"):
        return 0.0
    shown, _ = direct_prompt(item, WINDOW)
    kind = item.meta["kind"]
    found = [shown.count(needle_sentence(kind, k, v).rstrip(".")) == 1 for k, v in item.meta["needles"].items()]
    return sum(found) / len(found)


def _bench(provider: FakeProvider, out: Path, *args: str, timeout: float | None = 60) -> Any:
    return rlm(["bench", *args, "--model", "openai/root", "--sub-model", "openai/sub", "--api-base", provider.url,
                "--sandbox", "process", "--out", str(out), "--max-iterations", "4", "--jobs", "4"],
               env=FAST_RETRIES, timeout=timeout)


def test_every_task_and_method_scores_what_its_policy_deserves(provider: FakeProvider, tmp_path: Path) -> None:
    provider.root_script, provider.sub_rule = root_policy, sub_rule
    done = _bench(provider, tmp_path, "--sizes", "2k", "--n", str(N), "--window", str(WINDOW), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    rows = [json.loads(line) for line in (tmp_path / "items.jsonl").read_text().splitlines()]
    assert len(rows) == len(TASKS) * N * 3 == summary["runs"]
    for row in rows:
        item = generate(row["task"], SIZE, 0, row["index"])
        want = expected_direct(item) if row["method"] == "direct" else expected_rlm(item, row["method"] == "rlm")
        assert row["score"] == round(want, 4), {k: row[k] for k in ("task", "index", "method", "answer", "stopped_by", "error", "expected", "detail")}
        if row["method"] == "direct":
            assert row["truncated"] == (len(item.as_text()) > (WINDOW - 1_000) * CHARS_PER_TOKEN) and row["turns"] == 1
        elif row["method"] == "rlm-no-sub":
            assert row["sub_calls"] == 0 and row["sub_tokens"] == 0
    by_group = {(g["task"], g["method"]): g for g in summary["groups"]}
    aggregate = by_group[("aggregate", "rlm")]
    assert aggregate["sub_calls"] > 0 and aggregate["sub_tokens"] > 0 and aggregate["turns"] == 2
    assert by_group[("aggregate", "rlm-no-sub")]["stopped_by"] == {"max_sub_calls": N}
    for method in ("rlm", "rlm-no-sub"):  # number needles are cited (word ones guessed); every citation verifies
        niah = by_group[("niah", method)]
        cited = sum(row["method"] == method and row["task"] == "niah" and bool(row["citations"]) for row in rows)
        assert niah["cited"] == cited > 0 and niah["citations_verified"] == 1.0
    assert (tmp_path / "summary.json").exists() and (tmp_path / "score_vs_size.png").exists()


def test_direct_records_its_cut_and_a_rerun_resumes(provider: FakeProvider, tmp_path: Path) -> None:
    provider.sub_rule = sub_rule
    args = ("niah", "--methods", "direct", "--sizes", "1k,4k", "--n", "2", "--window", "2500")
    first = _bench(provider, tmp_path, *args)
    assert first.returncode == 0, first.stderr
    rows = {(r["size"], r["index"]): r for r in map(json.loads, (tmp_path / "items.jsonl").read_text().splitlines())}
    for (size, _), row in rows.items():
        assert row["truncated"] == (size == 4_000)
        assert (0 < row["kept_fraction"] < 0.5) if size == 4_000 else row["kept_fraction"] == 1.0
    assert "niah 4k direct: truncated 2/2" in first.stdout
    assert re.search(r"niah 4k #\d direct: score .* kept \d+%", first.stderr)
    calls = len(provider.requests)
    again = _bench(provider, tmp_path, *args)
    assert again.returncode == 0, again.stderr
    assert "4 finished runs taken from the earlier run" in again.stderr
    assert len(provider.requests) == calls
    assert json.loads((tmp_path / "summary.json").read_text())["runs"] == 4


def test_unknown_task_is_a_usage_error(provider: FakeProvider, tmp_path: Path) -> None:
    done = _bench(provider, tmp_path, "haystack")
    assert done.returncode == 2
    assert "unknown task 'haystack'" in done.stderr and "niah" in done.stderr
