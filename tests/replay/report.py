"""The replay rates: `python -m tests.replay.report` prints the table and each failing reply."""

from __future__ import annotations

import os
import sys
import tempfile
from collections import Counter

from tests.replay.judge import Verdict

CATEGORIES = ("foreign-api", "foreign-format", "input-shape", "not-reached")


def rate(verdicts: list[Verdict]) -> float:
    """Share of counted replies that ran as the model meant (1.0 when none are counted)."""
    counted = [v for v in verdicts if v.category == "counted"]
    return sum(v.ok for v in counted) / len(counted) if counted else 1.0


def table(verdicts: list[Verdict]) -> str:
    """Per source and overall: replies, counted, ran as meant, rate, and the excluded kinds."""
    header = f"{'source':<16}{'replies':>8}{'counted':>8}{'ok':>5}{'rate':>8}" + "".join(f"{c:>16}" for c in CATEGORIES)
    rows = [header]
    sources = sorted({v.source for v in verdicts})
    for name, group in [*((s, [v for v in verdicts if v.source == s]) for s in sources), ("overall", verdicts)]:
        counted = [v for v in group if v.category == "counted"]
        kinds = Counter(v.category for v in group)
        rows.append(
            f"{name:<16}{len(group):>8}{len(counted):>8}{sum(v.ok for v in counted):>5}{rate(group):>8.1%}"
            + "".join(f"{kinds[c]:>16}" for c in CATEGORIES)
        )
    return "\n".join(rows)


def failures(verdicts: list[Verdict]) -> str:
    """Each counted reply that did not run as meant, and each excluded reply with its reason."""
    lines = [f"FAIL {v.trajectory} turn {v.turn} ({v.model}): {v.reason}" for v in verdicts if v.category == "counted" and not v.ok]
    lines += [f"{v.category} {v.trajectory} turn {v.turn}: {v.reason}" for v in verdicts if v.category != "counted"]
    return "\n".join(lines)


def main() -> int:
    """Replay everything in an isolated state directory and print the report."""
    from tests.replay.corpus import load
    from tests.replay.harness import replay_all

    with tempfile.TemporaryDirectory() as home:
        os.environ.update({"XDG_CONFIG_HOME": f"{home}/config", "XDG_STATE_HOME": f"{home}/state",
                           "LITELLM_LOCAL_MODEL_COST_MAP": "True", "OPENAI_API_KEY": "sk-replay"})
        verdicts = replay_all(load())
    print(table(verdicts))
    print()
    print(failures(verdicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
