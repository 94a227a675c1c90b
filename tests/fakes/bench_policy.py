"""Scripted policies of known skill for `rlm bench` against the fake provider.

The root policy really works on `context` in the REPL (regexes, grep, llm_batch); the sub-model
labels records by rule. Each is wrong on purpose for some items, so a bench run's scores are
known in advance. Used by tests/e2e/test_bench.py and benchmarks/bench_suite.py.
"""

from __future__ import annotations

import re

from rlm_cli.bench.tasks.aggregate import PHRASINGS
from rlm_cli.bench.tasks.codeqa import ROLES
from rlm_cli.bench.tasks.pairs import TOPICS
from tests.fakes.provider import Request, code

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
    # Found by grep and cited as models are asked to: the bench counts answers whose citations verify.
    return (f"import re\nm = context.grep(r'for {key} is: ')[0]\n"
            f"result = re.search(r'for {key} is: (\\S+?)\\.(?:\\s|$)', m.line).group(1) + ' (' + m.cite + ')'")


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
