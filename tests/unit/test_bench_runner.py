"""The bench runner, summary, table and plot, with stand-in methods (no model, no REPL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from rlm_cli.bench import methods
from rlm_cli.bench.command import BenchRequest, make_plan
from rlm_cli.bench.items import Item
from rlm_cli.bench.methods import MethodConfig, Outcome, direct_prompt
from rlm_cli.bench.plot import plot_summary
from rlm_cli.bench.report import citation_share, summarize, summary_table
from rlm_cli.bench.runner import ITEMS_FILE, Plan, run_plan
from rlm_cli.errors import InputError
from rlm_cli.settings import Settings
from rlm_cli.units import CHARS_PER_TOKEN, estimate_tokens

CONFIG = MethodConfig(Settings(model="openai/root"))


@pytest.fixture
def stand_ins(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, str]]:
    """`right` answers with the key, `wrong` with nothing; both record what they were asked."""
    calls: list[tuple[str, int, str]] = []

    def right(item: Item, config: MethodConfig) -> Outcome:
        calls.append((item.task, item.index, "right"))
        return Outcome(str(item.answer), "answer", root_tokens=100, sub_tokens=50, cost_usd=0.01, turns=2, sub_calls=3)

    def wrong(item: Item, config: MethodConfig) -> Outcome:
        calls.append((item.task, item.index, "wrong"))
        return Outcome("", "max_iterations", root_tokens=10, turns=5, error=None)

    monkeypatch.setattr(methods, "METHODS", {"right": right, "wrong": wrong})
    monkeypatch.setattr("rlm_cli.bench.runner.METHODS", {"right": right, "wrong": wrong})
    return calls


def test_rows_are_written_and_a_second_run_resumes(tmp_path: Path, stand_ins: list) -> None:
    plan = Plan(("niah", "verbatim"), (1_000,), 2, 0, ("right", "wrong"))
    seen: list[bool] = []
    rows = run_plan(plan, CONFIG, tmp_path, 3, lambda row, resumed: seen.append(resumed))
    assert len(rows) == 8 and seen == [False] * 8 and len(stand_ins) == 8
    written = [json.loads(line) for line in (tmp_path / ITEMS_FILE).read_text().splitlines()]
    assert sorted(r["score"] for r in written) == [0.0] * 4 + [1.0] * 4
    assert {r["method"]: r["stopped_by"] for r in written} == {"right": "answer", "wrong": "max_iterations"}
    first = next(r for r in written if r["method"] == "right")
    for field in ("task", "size", "method", "score", "root_tokens", "sub_tokens", "cost_usd", "wall_s", "turns",
                  "sub_calls", "stopped_by", "truncated", "kept_fraction", "expected", "answer", "seed", "model"):
        assert field in first

    # An interrupted write leaves half a line: it is ignored and its run done again.
    with (tmp_path / ITEMS_FILE).open("a") as sink:
        sink.write('{"task": "niah", "si')
    bigger = Plan(("niah", "verbatim"), (1_000,), 3, 0, ("right", "wrong"))
    seen.clear()
    rows = run_plan(bigger, CONFIG, tmp_path, 2, lambda row, resumed: seen.append(resumed))
    assert len(rows) == 12 and seen.count(True) == 8 and len(stand_ins) == 12
    assert {(task, index) for task, index, _ in stand_ins[8:]} == {("niah", 2), ("verbatim", 2)}


def test_a_run_that_ended_in_an_error_is_retried(tmp_path: Path, stand_ins: list, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = Plan(("niah",), (1_000,), 1, 0, ("right",))
    right = methods.METHODS["right"]
    failing = {"right": lambda item, config: Outcome("", "error", error="provider down")}
    monkeypatch.setattr("rlm_cli.bench.runner.METHODS", failing)
    assert run_plan(plan, CONFIG, tmp_path, 1, lambda row, resumed: None)[0]["error"] == "provider down"
    monkeypatch.setattr("rlm_cli.bench.runner.METHODS", {"right": right})
    rows = run_plan(plan, CONFIG, tmp_path, 1, lambda row, resumed: None)
    assert [row["score"] for row in rows] == [1.0] and len(stand_ins) == 1


def test_another_seed_or_model_is_not_resumed(tmp_path: Path, stand_ins: list) -> None:
    plan = Plan(("niah",), (1_000,), 1, 0, ("right",))
    run_plan(plan, CONFIG, tmp_path, 1, lambda row, resumed: None)
    run_plan(Plan(("niah",), (1_000,), 1, 1, ("right",)), CONFIG, tmp_path, 1, lambda row, resumed: None)
    other = MethodConfig(Settings(model="openai/other"))
    run_plan(plan, other, tmp_path, 1, lambda row, resumed: None)
    assert len(stand_ins) == 3


def test_summary_groups_means_and_the_table(tmp_path: Path, stand_ins: list) -> None:
    plan = Plan(("niah",), (1_000, 2_000), 2, 0, ("right", "wrong"))
    rows = run_plan(plan, CONFIG, tmp_path, 2, lambda row, resumed: None)
    summary = summarize(rows, plan, {"model": "openai/root", "sub_model": "openai/root"})
    assert [(g["size_label"], g["method"]) for g in summary["groups"]] == [("1k", "right"), ("1k", "wrong"), ("2k", "right"), ("2k", "wrong")]
    right = summary["groups"][0]
    assert right["score"] == 1.0 and right["n"] == 2 and right["root_tokens"] == 100 and right["cost_usd"] == 0.02
    wrong = summary["groups"][1]
    assert wrong["score"] == 0.0 and wrong["cost_usd"] is None and wrong["stopped_by"] == {"max_iterations": 2}
    assert summary["score_by_method"] == {"right": 1.0, "wrong": 0.0}
    console = Console(file=None, width=80, color_system=None, record=True)
    console.print(summary_table(summary))
    text = console.export_text()
    assert "niah 1k wrong: 2 max_iterations" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_plot_is_written_when_matplotlib_is_there(tmp_path: Path, stand_ins: list) -> None:
    plan = Plan(("niah", "verbatim"), (1_000, 2_000), 1, 0, ("right", "wrong"))
    rows = run_plan(plan, CONFIG, tmp_path, 2, lambda row, resumed: None)
    path = plot_summary(summarize(rows, plan, {"model": "m", "sub_model": "s"}), tmp_path, "a note")
    assert path is not None and path.read_bytes()[:4] == b"\x89PNG"


def test_plot_degrades_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    summary = {"tasks": ["niah"], "sizes": [1_000], "methods": ["rlm"], "groups": [], "model": "m", "sub_model": "m", "n": 1, "seed": 0}
    assert plot_summary(summary, tmp_path) is None


def test_direct_prompt_cuts_the_middle_and_says_how_much_it_kept() -> None:
    item = Item("niah", 1_000, 0, "Q?", "x", "needle", text="A" * 5_000 + "B" * 5_000)
    whole, kept = direct_prompt(item, 10_000)
    assert kept == 1.0 and "A" * 5_000 + "B" * 5_000 in whole
    cut, kept = direct_prompt(item, 1_500)
    room = (1_500 - 1_000 - estimate_tokens(len("Q?"))) * CHARS_PER_TOKEN  # less the reserve and the question
    assert kept == pytest.approx(room / 10_000)
    assert f"{10_000 - room:,} cut from the middle" in cut
    assert (cut.count("A"), cut.count("B")) == (room // 2, room - room // 2)
    assert cut.endswith("Q?")


def test_plan_refuses_unknown_names_and_bad_sizes() -> None:
    assert make_plan(BenchRequest(sizes="1k", methods="rlm")).tasks[0] == "niah"
    with pytest.raises(InputError, match="unknown task 'haystack'"):
        make_plan(BenchRequest(tasks=["haystack"]))
    with pytest.raises(InputError, match="unknown method 'rag'"):
        make_plan(BenchRequest(methods="rlm,rag"))
    with pytest.raises(InputError, match="bad size"):
        make_plan(BenchRequest(sizes="big"))


def test_direct_prompt_fits_the_window_by_the_models_tokenizer_where_it_has_one() -> None:
    item = Item("niah", 1_000, 0, "Q?", "x", "needle", text="A" * 5_000 + "B" * 5_000)

    def five_per_token(text: str) -> int:
        return len(text) // 5

    whole, kept = direct_prompt(item, 3_100, five_per_token)  # the input's 2,000 tokens fit
    assert kept == 1.0 and "cut from the middle" not in whole
    cut, kept = direct_prompt(item, 2_000, five_per_token)
    fits = 2_000 - 1_000 - estimate_tokens(len("Q?"))  # the window less the reserve and the question
    body = cut.split("<input>\n")[1].split("\n</input>")[0]
    assert five_per_token(body) <= fits
    assert 0.95 * fits * 5 <= kept * 10_000 <= fits * 5  # more than the estimate would keep
    assert cut.count("A") == cut.count("B") or abs(cut.count("A") - cut.count("B")) == 1


def test_parallel_units_land_as_they_finish_and_a_stop_drops_the_rest() -> None:
    import threading

    from rlm_cli.bench.runner import _parallel

    release = threading.Event()
    started: list[int] = []

    def work(unit: int) -> Iterator[dict[str, Any]]:
        started.append(unit)
        if unit != 1:
            release.wait(10)  # every unit but the second is slow: its row lands first
        yield {"unit": unit}

    rows = _parallel(list(range(6)), 2, work)
    assert next(rows) == {"unit": 1}
    rows.close()  # the caller stops (Ctrl-C, an error) while both threads are busy
    release.set()
    for thread in threading.enumerate():
        if thread.name.startswith("rlm-bench"):
            thread.join(10)
    assert max(started) <= 2  # the units not started by then never run


def test_parallel_raises_the_first_failure() -> None:
    from rlm_cli.bench.runner import _parallel

    def work(unit: int) -> Iterator[dict[str, Any]]:
        if unit == 1:
            raise RuntimeError("unit 1 broke")
        yield {"unit": unit}

    with pytest.raises(RuntimeError, match="unit 1 broke"):
        list(_parallel([0, 1, 2], 1, work))


def test_the_share_of_cited_answers_whose_citations_all_verify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [{"citations": ["verified", "verified"]}, {"citations": ["verified", "unsupported"]}, {"citations": []}, {}]
    assert citation_share(rows) == {"cited": 2, "citations_verified": 0.5}
    assert citation_share([{"citations": []}]) == {"cited": 0, "citations_verified": None}
    cites = {"right": lambda item, config: Outcome(str(item.answer), "answer", extra={"citations": ["verified", "moved"]})}
    monkeypatch.setattr("rlm_cli.bench.runner.METHODS", cites)
    plan = Plan(("niah",), (1_000,), 2, 0, ("right",))
    summary = summarize(run_plan(plan, CONFIG, tmp_path, 1, lambda row, resumed: None), plan, {"model": "m", "sub_model": "s"})
    assert (summary["groups"][0]["cited"], summary["groups"][0]["citations_verified"]) == (2, 0.0)
    console = Console(file=None, width=80, color_system=None, record=True)
    console.print(summary_table(summary))
    assert "niah 1k right: citations all verified in 0% of 2 cited" in console.export_text()
