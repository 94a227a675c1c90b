"""Synthetic event streams shaped like the engine's, on a virtual clock, for renderer tests and
benchmarks/render.py. Imports `events` only.
"""

from __future__ import annotations

from typing import Any

from rlm_cli import events as ev

T0 = 1_700_000_000.0


class Stream:
    """Appends events of one run (and its children) with timestamps from a virtual clock."""

    def __init__(self, run_id: str = "run-1", *, t0: float = T0) -> None:
        self.run_id = run_id
        self.t = t0
        self.events: list[ev.Event] = []
        self.root = {"prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0}
        self.sub = {"prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0}
        self.turns = 0
        self.sub_calls = 0
        self._calls = 0

    def emit(self, cls: type[ev.Event], dt: float = 0.0, **fields: Any) -> None:
        """Advance the clock by `dt`, then append one event of this run."""
        self.t += dt
        self.events.append(cls(fields.pop("run_id", self.run_id), ts=self.t, **fields))

    def start(self, question: str = "where is auth handled?", **fields: Any) -> Stream:
        """RunStarted with sensible defaults."""
        base: dict[str, Any] = {
            "model": "openai/root-model", "sub_model": "openai/sub-model", "depth": 1,
            "max_depth": 1, "parent_run_id": None, "input": {"documents": 120, "bytes": 2_345_678, "skipped": 3},
            "sources": ["./repo"], "budgets": {"max_iterations": 30},
        }
        self.emit(ev.RunStarted, question=question, **{**base, **fields})
        return self

    def turn(self, code: str, *, latency: float = 1.5, retries: tuple[tuple[str, float], ...] = ()) -> int:
        """TurnStarted and the ModelReplied carrying `code` (1200 prompt, 300 completion tokens),
        the root model's call retried first for each (reason, delay) of `retries`."""
        self.turns += 1
        self.emit(ev.TurnStarted, 0.01, turn=self.turns)
        for number, (reason, delay) in enumerate(retries, 1):
            self.retried(None, reason, number, delay)
        self.root["prompt_tokens"] += 1200
        self.root["completion_tokens"] += 300
        self.root["cost_usd"] += 0.0021
        self.emit(
            ev.ModelReplied, latency, turn=self.turns, prompt_chars=4800, reply=f"```repl\n{code}\n```",
            prompt_tokens=1200, completion_tokens=300, cost_usd=0.0021, latency_s=latency,
        )
        return self.turns

    def cell(self, cell: int, code: str) -> None:
        """CellStarted of the current turn."""
        self.emit(ev.CellStarted, 0.01, turn=self.turns, cell=cell, code=code)

    def executed(self, cell: int, output: str = "ok\n", *, error: str | None = None, duration: float = 0.2, **extra: Any) -> None:
        """CellExecuted of the current turn."""
        self.emit(
            ev.CellExecuted, duration, turn=self.turns, cell=cell, output=output,
            output_chars=len(output), error=error, duration_s=duration, **extra,
        )

    def call(self, prompt: str, answer: str, *, batch_id: str | None = None, index: int = 0,
             latency: float = 0.5, error: str | None = None, kind: str = "llm") -> str:
        """A single sub-call, started and finished."""
        call_id = self.call_start(prompt, batch_id=batch_id, index=index, kind=kind)
        self.call_end(call_id, answer, batch_id=batch_id, index=index, latency=latency, error=error)
        return call_id

    def call_start(self, prompt: str, *, batch_id: str | None = None, index: int = 0, kind: str = "llm") -> str:
        """SubcallStarted; returns its call id."""
        self._calls += 1
        call_id = f"{self.run_id}-c{self._calls}"
        self.emit(
            ev.SubcallStarted, 0.001, call_id=call_id, batch_id=batch_id, index=index,
            model="openai/sub-model", prompt=prompt, prompt_chars=len(prompt), kind=kind,
        )
        return call_id

    def call_end(self, call_id: str, answer: str, *, batch_id: str | None = None, index: int = 0,
                 latency: float = 0.5, error: str | None = None, child_run_id: str | None = None,
                 dt: float | None = None) -> None:
        """SubcallFinished with 200 prompt and 40 completion tokens."""
        self.sub_calls += 1
        self.sub["prompt_tokens"] += 200
        self.sub["completion_tokens"] += 40
        self.sub["cost_usd"] += 0.0001
        self.emit(
            ev.SubcallFinished, latency if dt is None else dt, call_id=call_id, batch_id=batch_id,
            index=index, model="openai/sub-model", answer="" if error else answer,
            answer_chars=0 if error else len(answer), prompt_tokens=200, completion_tokens=40,
            cost_usd=0.0001, latency_s=latency, error=error, child_run_id=child_run_id,
        )

    def batch(self, batch_id: str, size: int, *, failed: frozenset[int] = frozenset(),
              running: frozenset[int] = frozenset(), finish: bool = True) -> None:
        """An llm_batch whose calls start together and finish interleaved, some failing.

        Calls in `running` are left unfinished (and then the batch too).
        """
        self.emit(ev.BatchStarted, 0.01, batch_id=batch_id, size=size, model="openai/sub-model")
        start = self.t
        ids = [self.call_start(f"chunk {i}: summarise the auth code", batch_id=batch_id, index=i) for i in range(size)]
        for i in sorted(range(size), key=lambda i: (i * 7919) % size):
            if i in running:
                continue
            error = "RateLimitError: 429 after 6 retries" if i in failed else None
            latency = 0.3 + (i * 37 % 50) / 10
            self.call_end(ids[i], f"chunk {i} mentions login() and verify_token()", batch_id=batch_id,
                          index=i, latency=latency, error=error, dt=0.002)
        if finish and not running:
            self.emit(ev.BatchFinished, 0.01, batch_id=batch_id, size=size, failed=len(failed),
                      duration_s=self.t - start)

    def retried(self, call_id: str | None, reason: str, retry: int, delay: float) -> None:
        """CallRetried of a sub-call, or of the root model's call when `call_id` is None."""
        model = "openai/sub-model" if call_id else "openai/root-model"
        self.emit(ev.CallRetried, 0.01, call_id=call_id, model=model, reason=reason, retry=retry,
                  max_retries=6, delay_s=delay, error=f"fake failure {reason}")

    def answer(self, content: str, ready: bool = False) -> None:
        """AnswerUpdated."""
        self.emit(ev.AnswerUpdated, 0.01, content=content, ready=ready)

    def finish(self, answer: str, *, stopped_by: str = "answer", ready: bool = True, error: str | None = None) -> None:
        """RunFinished with the usage counted so far."""
        total = {k: self.root[k] + self.sub[k] for k in self.root}
        self.emit(
            ev.RunFinished, 0.05, stopped_by=stopped_by, ready=ready, answer=answer,
            iterations=self.turns, sub_calls=self.sub_calls,
            usage={"root": dict(self.root), "sub": dict(self.sub), "total": total},
            elapsed_s=self.t - self.events[0].ts, error=error,
        )


CODE_EXPLORE = "print(len(context))\nprint(context.files[:20])"
CODE_BATCH = "\n".join([
    "chunks = context.chunks(100_000)",
    "answers = llm_batch([f'Where is auth handled? {c}' for c in chunks])",
    "for a in answers:",
    "    print(a[:80])",
])
ANSWER = "Auth is handled in `auth/session.py`:\n\n- `login()` checks the password\n- `verify_token()` checks JWTs\n"


def scripted_run(batch_size: int = 50, *, failed: frozenset[int] = frozenset({7, 23}), finish: bool = True) -> Stream:
    """Three turns: explore, fan out an llm_batch, one llm_query and the answer."""
    s = Stream().start()
    s.turn(CODE_EXPLORE)
    s.cell(1, CODE_EXPLORE)
    s.executed(1, "2345678\n" + "\n".join(f"src/file_{i}.py" for i in range(20)) + "\n")
    s.turn(CODE_BATCH)
    s.cell(1, CODE_BATCH)
    s.batch("b1", batch_size, failed=failed)
    s.executed(1, "".join(f"chunk {i} mentions login()\n" for i in range(batch_size)), duration=4.0)
    s.answer("Auth is probably in auth/session.py (draft)")
    s.turn("final = llm_query('Summarise: ' + str(answers))\nFINAL(final)")
    s.cell(1, "final = llm_query('Summarise: ' + str(answers))\nFINAL(final)")
    s.call("Summarise: ...", ANSWER)
    s.executed(1, "", duration=0.6)
    s.answer(ANSWER, ready=True)
    if finish:
        s.finish(ANSWER)
    return s


def retrying_run() -> Stream:
    """A root call retried through two 429s, then a batch of two whose second call rides out two 500s."""
    s = Stream().start()
    s.turn("answers = llm_batch(['a', 'b'])", retries=(("429", 0.5), ("429", 1.0)))
    s.cell(1, "answers = llm_batch(['a', 'b'])")
    s.emit(ev.BatchStarted, 0.01, batch_id="b1", size=2, model="openai/sub-model")
    first = s.call_start("a", batch_id="b1", index=0)
    second = s.call_start("b", batch_id="b1", index=1)
    s.call_end(first, "fine", batch_id="b1", index=0, dt=0.5)
    s.retried(second, "500", 1, 1.2)
    s.retried(second, "500", 2, 3.1)
    s.call_end(second, "fine after two retries", batch_id="b1", index=1, latency=5.0, dt=3.2)
    s.emit(ev.BatchFinished, 0.01, batch_id="b1", size=2, failed=0, duration_s=5.0)
    s.executed(1, "ok\n")
    s.answer("done", ready=True)
    s.finish("done")
    return s


def nested_run() -> Stream:
    """A depth-2 run whose rlm_query starts a child run with its own turn and batch."""
    s = Stream().start("compare the two papers", max_depth=2)
    s.turn("r = rlm_query('what does paper A evaluate?')")
    s.cell(1, "r = rlm_query('what does paper A evaluate?')")
    call_id = s.call_start("what does paper A evaluate?", kind="rlm")
    child = Stream("run-1.1", t0=s.t).start(
        "what does paper A evaluate?", depth=2, max_depth=2, parent_run_id="run-1", parent_call_id=call_id,
    )
    child.turn("llm_batch(['a', 'b', 'c'])")
    child.cell(1, "llm_batch(['a', 'b', 'c'])")
    child.batch("b9", 3)
    child.executed(1, "done\n")
    child.answer("Paper A evaluates on NIAH.", ready=True)
    child.finish("Paper A evaluates on NIAH.")
    s.events.extend(child.events)
    s.t = child.t
    for key in s.sub:  # the parent's sub usage includes everything its child spent
        s.sub[key] += child.root[key] + child.sub[key]
    s.sub_calls += child.sub_calls
    s.call_end(call_id, "Paper A evaluates on NIAH.", latency=3.0, child_run_id="run-1.1")
    s.executed(1, "")
    s.answer("A: NIAH", ready=True)
    s.finish("A: NIAH")
    return s


def long_stream(target: int = 10_000, batch_size: int = 100) -> list[ev.Event]:
    """At least `target` events: turns of explore + batch cells, as a long busy run emits."""
    s = Stream().start()
    while len(s.events) < target:
        s.turn(CODE_BATCH)
        s.cell(1, CODE_BATCH)
        s.batch(f"b{s.turns}", batch_size, failed=frozenset({3}))
        s.executed(1, "".join(f"line {i}\n" for i in range(200)))
        s.answer(f"draft after turn {s.turns}")
    s.finish("done")
    return s.events
