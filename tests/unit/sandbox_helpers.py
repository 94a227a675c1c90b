"""Shared pieces of the sandbox tests: a recording broker, the modes to run against, and a
sandbox factory that proves no process outlives the test."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rlm_cli.errors import SandboxError
from rlm_cli.sandbox import Sandbox, SandboxConfig, resolve_mode


class FakeBroker:
    """Answers sub-calls by rule and records each call as it arrived: (kind, payload, options)."""

    def __init__(self, rule: Callable[[str], str] | None = None, delay: float = 0.0) -> None:
        self.rule = rule or (lambda prompt: f"answer to {prompt}")
        self.delay = delay
        self.calls: list[tuple[str, Any, dict[str, Any]]] = []

    def _answer(self, prompt: str) -> str:
        if prompt.startswith("fail"):
            raise RuntimeError(f"provider refused {prompt!r}")
        return self.rule(prompt)

    def llm_query(self, prompt: str, model: str | None = None, tools: list[str] | None = None) -> str:
        self.calls.append(("llm_query", prompt, {"model": model, "tools": tools}))
        time.sleep(self.delay)
        return self._answer(prompt)

    def llm_batch(
        self, prompts: list[str], model: str | None = None, tools: list[str] | None = None
    ) -> list[str]:
        self.calls.append(("llm_batch", list(prompts), {"model": model, "tools": tools}))
        time.sleep(self.delay)
        if any(p == "fail the whole batch" for p in prompts):
            raise RuntimeError("batch refused")
        answers = []
        for prompt in prompts:
            try:
                answers.append(self._answer(prompt))
            except RuntimeError as error:
                answers.append(f"Error: {error}")
        return answers

    def rlm_query(self, prompt: str, context: str | None = None) -> str:
        self.calls.append(("rlm_query", prompt, {"context": context}))
        return f"child run on {len(context or '')} chars: {self._answer(prompt)}"


def _bwrap_works() -> bool:
    try:
        return resolve_mode("bwrap") == "bwrap"
    except SandboxError:
        return False


REAL_MODES = [
    pytest.param("bwrap", marks=pytest.mark.skipif(not _bwrap_works(), reason="bubblewrap unusable here")),
    "process",
]


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (zombies included: they were not reaped)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def processes_in(scratch: str) -> set[int]:
    """Processes whose environment points HOME at this scratch dir: a worker, wherever it went."""
    marker = f"HOME={scratch}".encode()
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


def wait_until(check: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


class SandboxFactory:
    """Makes sandboxes for one test and, at the end, closes them and checks nothing is left."""

    def __init__(self, mode: str, broker: FakeBroker) -> None:
        self.mode = mode
        self.broker = broker
        self.made: list[Sandbox] = []
        self.scratches: list[str] = []
        self.before = descendants(os.getpid())

    def __call__(self, **options: Any) -> Sandbox:
        options.setdefault("cell_timeout", 5.0)
        sandbox = Sandbox(SandboxConfig(mode=self.mode, **options), self.broker)
        sandbox.start()
        self.made.append(sandbox)
        assert sandbox.scratch_dir is not None
        self.scratches.append(str(sandbox.scratch_dir))
        return sandbox

    def finish(self) -> None:
        for sandbox in self.made:
            sandbox.close()
        assert wait_until(lambda: descendants(os.getpid()) <= self.before), "a child process survived"
        for scratch in self.scratches:
            assert not processes_in(scratch), f"a worker of {scratch} survived"


def sandbox_factory(mode: str, broker: FakeBroker) -> Iterator[SandboxFactory]:
    """Body of the `make` fixtures: yields the factory, then checks for orphans."""
    factory = SandboxFactory(mode, broker)
    try:
        yield factory
    finally:
        factory.finish()


# A host process running cells: prints its scratch dir, then, on Ctrl-C, the answer so far.
HOST = textwrap.dedent(
    """
    import sys
    from rlm_cli.sandbox import Sandbox, SandboxConfig
    from tests.unit.sandbox_helpers import FakeBroker

    with Sandbox(SandboxConfig(mode=sys.argv[1], cell_timeout=60), FakeBroker(delay=60)) as sandbox:
        print(sandbox.scratch_dir, flush=True)
        try:
            for cell in sys.argv[2:]:
                sandbox.execute(cell)
        except KeyboardInterrupt:
            print(sandbox.answer["content"], flush=True)
            sys.exit(130)
    """
)


def start_host(mode: str, *cells: str) -> tuple[subprocess.Popen[str], str]:
    """A host process running `cells` in a sandbox (its sub-calls wait a minute); returns once a
    cell wrote the file `started` in its scratch dir."""
    host = subprocess.Popen(
        [sys.executable, "-c", HOST, mode, *cells], stdout=subprocess.PIPE, text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )
    assert host.stdout is not None
    scratch = host.stdout.readline().strip()
    assert wait_until(lambda: os.path.exists(os.path.join(scratch, "started")), timeout=10)
    assert processes_in(scratch)
    return host, scratch
