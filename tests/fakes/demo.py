"""A scripted demo run to watch in a terminal: python -m tests.fakes.demo [--latency 0.6]

Serves the fake provider on 127.0.0.1 with a multi-turn root script that greps, fans out 50
sub-calls and answers, then prints the `rlm ask` command to run against it. Stops on Ctrl-C.
"""

from __future__ import annotations

import argparse
import random
import time

from tests.fakes.provider import FakeProvider, Request, code, script

DEMO_TURNS = (
    code("print(len(context), 'chars in', len(context.files), 'files')", "print(context.files[:5])"),
    code("errors = context.grep(r'ERROR|FATAL', max_matches=20)", "print(len(errors), 'matches')", "print(errors[:5])"),
    code("pieces = context.chunks(4000)[:50]",
         "verdicts = llm_batch([f'Does this part of the log explain a failed deploy? Answer in one line.\\n{p}' for p in pieces])",
         "suspects = [v for v in verdicts if v.startswith('yes')]",
         "print(len(pieces), 'pieces,', len(suspects), 'suspects')", "print(suspects[:3])"),
    code("answer['content'] = '## Why the deploy failed\\n\\n' + '\\n'.join(f'- {s[5:]}' for s in suspects)",
         "print(answer['content'])"),
    code("answer['ready'] = True"),
)


def sub_rule(request: Request) -> str:
    """Judge a piece: 'yes' when it holds an error line."""
    time.sleep(random.uniform(0.0, 0.8))
    if "FATAL" in request.last_user:
        return "yes: db-7 ran out of disk quota at 03:12 (FATAL line)"
    return "no: routine traffic"


def write_demo_log(path: str, lines: int = 4000) -> None:
    """A log with routine lines and one fatal error."""
    rows = [f"INFO 03:{(i // 60) % 60:02d}:{i % 60:02d} request served path=/v1/items status=200 in {i % 97} ms" for i in range(lines)]
    rows[lines // 2] = "FATAL 03:12:07 deploy failed: disk quota exceeded on db-7"
    rows[lines // 3] = "ERROR 03:05:44 retrying connection to db-7"
    with open(path, "w", encoding="utf-8") as out:
        out.write("\n".join(rows) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.6, help="seconds per root turn")
    parser.add_argument("--log", default="/tmp/rlm-demo.log")
    args = parser.parse_args()
    write_demo_log(args.log)
    with FakeProvider(root_script=script(*DEMO_TURNS), sub_rule=sub_rule, latency=args.latency, sub_latency=0.2) as provider:
        print(f"OPENAI_API_KEY=sk-demo rlm ask {args.log} 'why did the deploy fail?' "
              f"-m openai/demo-root --sub-model openai/demo-sub --api-base {provider.url} --concurrency 8", flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
