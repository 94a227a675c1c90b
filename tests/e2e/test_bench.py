"""`rlm bench` end to end against the fake provider, with scripted policies of known skill.

The root policy really works on `context` in the REPL (regexes, grep, llm_batch); the sub-model
labels records by rule. Each policy is wrong on purpose for some items, so every score in the
summary is checked against what that policy must get.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from rlm_cli.bench.items import CHARS_PER_TOKEN, Item
from rlm_cli.bench.methods import direct_prompt
from rlm_cli.bench.tasks import TASKS, generate
from rlm_cli.bench.tasks.aggregate import PHRASINGS
from rlm_cli.bench.tasks.codeqa import ROLES
from rlm_cli.bench.tasks.niah import needle_sentence
from rlm_cli.bench.tasks.pairs import TOPICS
from tests.e2e.helpers import FAST_RETRIES, rlm
from tests.fakes.provider import FakeProvider, Request, code

SIZE, N, WINDOW = 2_000, 3, 1_600  # tokens; the window cuts the direct baseline's input
FULL_RUN = os.environ.get("BENCH_FULL_RUN")  # a directory: run the whole default suite into it
LABEL_PROMPT = "Label each record below, one label per line:\n"


# The root model ---------------------------------------------------------------------------------
def root_policy(request: Request) -> str:
    """Solve in the first turn (printing the result), finish in the second."""
    if "The run must stop now" in request.last_user:
        return "unknown"
    if request.turn > 0:
        return code("FINAL(result)")
    question = re.search(r"The question:\n(.*?)\n\nBegin by", request.messages[1]["content"], re.S).group(1)
    for task, solver in SOLVERS.items():
        if task_of(question) == task:
            return code(solver(question), "print(result)")
    return code("result = 'no policy'")


def task_of(question: str) -> str:
    """Which task a question belongs to, from its wording."""
    for task, marker in (("multi-niah", "What are the special magic"), ("niah", "What is the special magic"),
                         ("pairs", "pair of users"), ("codeqa", "which function calls it"),
                         ("verbatim", "Reproduce the JSON record"), ("aggregate", "ticket")):
        if marker in question:
            return task
    raise AssertionError(question)


def solve_niah(question: str) -> str:
    # Wrong on purpose: word needles are answered without looking.
    kind, key = re.search(r"magic (\w+) for (\S+) mentioned", question).groups()
    if kind == "word":
        return "result = 'unknown'"
    return f"import re\nresult = re.search(r'for {key} is: (\\S+?)\\.(?:\\s|$)', str(context)).group(1)"


def solve_multi_niah(question: str) -> str:
    # Wrong on purpose: of number needles only the first two are given.
    kind = re.search(r"magic (\w+)s for", question).group(1)
    keys = re.findall(r"[a-z]+-[a-z]+", question)
    keep = 2 if kind == "number" else len(keys)
    return (f"import re\ntext = str(context)\nfound = [re.search(rf'for {{k}} is: (\\S+?)\\.(?:\\s|$)', text).group(1) for k in {keys!r}]\n"
            f"result = '\\n'.join(f'{{k}}: {{v}}' for k, v in zip({keys!r}, found[:{keep}]))")


def solve_aggregate(question: str) -> str:
    # Wrong on purpose: a count is reported one too high (OOLONG scores that 0.75).
    head = (f"import collections, json\nouts = llm_batch([{LABEL_PROMPT!r} + c for c in context.chunks(max(2000, len(context) // 50))])\n"
            "counts = collections.Counter(x.strip() for out in outs for x in out.splitlines() if x.strip())\n")
    if "How many tickets are about" in question:
        target = re.search(r"about (.+?)\?", question).group(1)
        return head + f"result = str(counts[{target!r}] + 1)"
    if "most tickets" in question:
        return head + "result = counts.most_common(1)[0][0]"
    return head + "result = json.dumps(dict(counts))"


def solve_pairs(question: str) -> str:
    # Wrong on purpose: the last pair found is left out.
    wanted = next(name for name, (words, _) in TOPICS.items() if f"posted about {words} and" in question)
    return (f"import itertools, re\nposts = [re.match(r'(U\\d+) \\((\\w+)', line) for line in str(context).splitlines()]\n"
            f"outs = llm_batch([{LABEL_PROMPT!r} + c for c in context.chunks(max(2000, len(context) // 50))])\n"
            "labels = [x.strip() for out in outs for x in out.splitlines() if x.strip()]\n"
            f"users = [post.groups() for post, label in zip([p for p in posts if p], labels) if label == {wanted!r}]\n"
            "pairs = [(a, b) for (a, x), (b, y) in itertools.combinations(users, 2) if x == y]\n"
            "result = '\\n'.join(f'({a}, {b})' for a, b in pairs[:-1]) or 'NONE'")


def solve_codeqa(question: str) -> str:
    # Wrong on purpose for the tax role: the option with the right function but another caller.
    index = next(i for i, role in enumerate(ROLES) if role.description in question)
    marker = ROLES[index].body.splitlines()[0].strip()
    options = {letter: (fn, caller) for letter, fn, caller in re.findall(r"^([A-D])\) (\w+) in \S+, called by (\w+) in", question, re.M)}
    wanted = "not in" if index == 1 else "in"
    return (f"import re\ndef body(name):\n    for path in context.files:\n"
            f"        m = re.search(rf'^def {{name}}\\(.*?(?=^def |\\Z)', context.read(path), re.S | re.M)\n"
            f"        if m:\n            return m.group(0)\n    return ''\n"
            f"result = next(l for l, (fn, caller) in {options!r}.items() if {marker!r} in body(fn) and fn + '(' {wanted} body(caller))")


def solve_verbatim(question: str) -> str:
    # Wrong on purpose for odd order numbers: the last character is dropped.
    order = re.search(r"order (ORD-\d+)", question).group(1)
    cut = "[:-1]" if int(order[4:]) % 2 else ""
    pattern = f'"order_id": "{order}"'
    return f"result = context.grep({pattern!r})[0].line{cut}"


SOLVERS = {"niah": solve_niah, "multi-niah": solve_multi_niah, "aggregate": solve_aggregate,
           "pairs": solve_pairs, "codeqa": solve_codeqa, "verbatim": solve_verbatim}


# The sub-model, which also serves the direct baseline ------------------------------------------
def _pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{\w+\\\}", ".+?", re.escape(template)))


LABELS = [(_pattern(t), label) for label, ts in PHRASINGS.items() for t in ts]
LABELS += [(_pattern(t), topic) for topic, (_, ts) in TOPICS.items() for t in ts]


def sub_rule(request: Request) -> str:
    prompt = request.last_user
    if prompt.startswith(LABEL_PROMPT):
        labels = [_label(line) for line in prompt[len(LABEL_PROMPT):].splitlines()]
        return "\n".join(label for label in labels if label)
    if prompt.startswith("Read the input below"):
        # A direct reader that finds needles in what it was shown, and nothing else.
        values = re.findall(r"special magic \w+ for [\w-]+ is: (\S+?)\.(?:\s|$)", prompt)
        return "\n".join(values) or "I cannot tell."
    return "?"


def _label(line: str) -> str | None:
    """The record's label; None for a line that is no record (the `=== path ===` header)."""
    message = line.split(": ", 1)[-1]
    return next((label for pattern, label in LABELS if pattern.fullmatch(message)), None)


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


@pytest.mark.timeout(0)
@pytest.mark.skipif(not FULL_RUN, reason="set BENCH_FULL_RUN=DIR for a full run at default sizes")
def test_full_run_at_default_sizes(provider: FakeProvider) -> None:
    """The figure in benchmarks/RESULTS.md: every task, size and method at the defaults, timed."""
    provider.root_script, provider.sub_rule = root_policy, sub_rule
    started = time.monotonic()
    assert FULL_RUN
    done = _bench(provider, Path(FULL_RUN), "--note", "scripted fake provider: an illustration, not a result", timeout=None)
    assert done.returncode == 0, done.stderr
    summary = json.loads((Path(FULL_RUN) / "summary.json").read_text())
    print(f"\n{summary['runs']} runs in {time.monotonic() - started:.0f} s; requests served: {len(provider.requests)}")
