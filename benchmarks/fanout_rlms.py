"""The official RLM package's batch fan-out (PyPI `rlms`), run by its own venv's Python for
benchmarks/fanout.py: a LocalREPL cell calls `llm_query_batched`, its LMHandler sends the prompts
with AsyncOpenAI under a semaphore of `batch_max_concurrent` (rlm/core/lm_handler.py).

Run: <venv>/bin/python benchmarks/fanout_rlms.py URL PROMPTS CONCURRENCY  -> one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from rlm.clients.openai import OpenAIClient
from rlm.core.lm_handler import LMHandler
from rlm.environments.local_repl import LocalREPL


def main() -> None:
    url, prompts, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    client = OpenAIClient(api_key="sk-bench", model_name="sub", base_url=url, max_retries=0)
    with LMHandler(client, batch_max_concurrent=concurrency) as handler, LocalREPL(lm_handler_address=handler.address) as repl:
        # Warm up with a plain call: a batch runs its own asyncio.run, and a second batch's first
        # request then fails on the async client's connection from the first loop ("Event loop is closed").
        handler.completion("warm-up")
        code = f"answers = llm_query_batched([f'prompt {{i}}' for i in range({prompts})])\nprint(len(answers), answers[0])"
        cpu, wall = time.process_time(), time.perf_counter()
        result = repl.execute_code(code)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        failed = sum(1 for answer in repl.locals.get("answers", []) if str(answer).startswith("Error"))
    # VmHWM, not ru_maxrss: that one can keep the peak of the parent this process was forked from
    status = Path("/proc/self/status").read_text().splitlines()
    peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
    print(json.dumps({"wall": wall, "cpu": cpu, "peak": peak, "output": result.stdout.strip(), "failed": failed}))


if __name__ == "__main__":
    main()
