"""Bounded root context: the same scripted task over inputs of growing size.

Run: python benchmarks/bounded_context.py [--sizes 1MB,100MB,1GB]
Goal: the root model's prompt characters per turn do not grow with the input's size (within 5%
of the smallest input's). Inputs are generated log files in a temporary directory, deleted after.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlm_cli.api import ask
from tests.fakes.provider import FakeProvider, code, script

RARE = "FATAL 03:12 deploy failed: disk quota exceeded on db-7"
TURNS = (
    code("print(len(context), len(context.files))", "hits = context.grep('FATAL')", "print(hits[:3])"),
    code("pieces = context.chunks(200_000)", "notes = llm_batch([f'Summarise: {p[:2000]}' for p in pieces[:8]])",
         "print(len(pieces), notes[:2])"),
    code("FINAL(f'{hits[0].line} (seen in {len(pieces)} chunks)')"),
)


def parse_size(text: str) -> int:
    """'100MB' -> bytes."""
    units = {"KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}
    return int(float(text[:-2]) * units[text[-2:].upper()])


def write_log(path: Path, size: int) -> None:
    """A log of about `size` bytes with one rare line in the middle."""
    line = b"INFO 2026-11-24T03:12:00Z api request served path=/v1/items status=200 in 12 ms\n"
    block = line * 8192
    with path.open("wb") as out:
        written = 0
        while written < size // 2:
            out.write(block)
            written += len(block)
        out.write(RARE.encode() + b"\n")
        while written < size:
            out.write(block)
            written += len(block)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1MB,100MB,1GB")
    parser.add_argument("--sandbox", default="process")
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench")
    rows = []
    with tempfile.TemporaryDirectory(prefix="rlm-bounded-") as folder:
        for label in args.sizes.split(","):
            path = Path(folder) / f"{label}.log"
            write_log(path, parse_size(label))
            with FakeProvider(root_script=script(*TURNS), sub_rule=lambda request: "routine traffic") as provider:
                started = time.perf_counter()
                result = ask("why did the deploy fail?", [str(path)], model="openai/root", sub_model="openai/sub",
                             api_base=provider.url, progress="none", trace=False, sandbox=args.sandbox)
                wall = time.perf_counter() - started
                per_turn = [request.prompt_chars for request in provider.root_requests()]
            rows.append((label, path.stat().st_size, per_turn, wall, result.exit_code, result.answer))
            path.unlink()
    base = rows[0][2]
    print(f"{'input':>7} {'bytes':>14} {'exit':>4} {'wall s':>7}  root prompt chars per turn   max growth vs {rows[0][0]}")
    for label, size, per_turn, wall, exit_code, _answer in rows:
        growth = max((b and (p - b) / b) for p, b in zip(per_turn, base, strict=False))
        print(f"{label:>7} {size:>14,} {exit_code:>4} {wall:7.2f}  {per_turn!s:<28} {growth * 100:+.2f}%")
    print(f"answer at the largest size: {rows[-1][5]!r}")


if __name__ == "__main__":
    main()
