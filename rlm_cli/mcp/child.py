"""One `rlm` child process per tool call: its events as they come, then its final object.

A run in a process of its own keeps the server's stdout (the protocol) clean and one run's crash
away from the others. Cancelled, the child gets SIGTERM and ends as on Ctrl-C: its REPL worker
stopped, its trace closed, its temporary files removed; SIGKILL only if that takes too long.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import ByteReceiveStream, Process

STOP_GRACE_S = 30.0  # a stopped run's clean-up at most
STDERR_KEPT = 16_384  # the tail of the child's stderr, for errors it printed there

OnEvent = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class ChildOutcome:
    """How the child ended: its last stdout object that is no event, exit code, stderr's tail."""

    final: dict[str, Any] | None
    returncode: int
    stderr: str


def child_env() -> dict[str, str]:
    """The server's environment, except that directory walks never follow links out of a source,
    and the `warm` setting is given explicitly: the first tool call's run leaves a warm process
    for the later ones (README, "A warm process") although no terminal is watching."""
    from rlm_cli.errors import ConfigError
    from rlm_cli.settings import resolve

    env = {**os.environ, "RLM_FOLLOW_LINKS": "false"}
    with suppress(ConfigError):  # the child reports a bad setting itself
        env["RLM_WARM"] = f"{resolve().settings.warm:g}"
    return env


async def run_rlm(arguments: Sequence[str], cwd: Path, on_event: OnEvent) -> ChildOutcome:
    """Run `rlm ARGUMENTS` in `cwd`, passing each event line on stdout to `on_event`."""
    process = await anyio.open_process(
        [sys.executable, "-m", "rlm_cli", *arguments], cwd=cwd, env=child_env(), stdin=subprocess.DEVNULL,
    )
    assert process.stdout is not None and process.stderr is not None
    stderr = bytearray()
    final: dict[str, Any] | None = None
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(_keep_tail, process.stderr, stderr)
            async for line in _lines(process.stdout):
                data = _parse(line)
                if data is None:
                    continue
                if "event" in data:
                    await on_event(data)
                else:
                    final = data
        returncode = await process.wait()
    except BaseException:  # cancelled by the client, the server shutting down, or a failed report
        await _stop(process)
        raise
    await process.aclose()
    return ChildOutcome(final, returncode, stderr.decode("utf-8", errors="replace"))


async def _stop(process: Process) -> None:
    """SIGTERM, then wait for the clean-up; the pipes are closed so no write of the child blocks."""
    with anyio.CancelScope(shield=True):
        if process.returncode is None:
            with suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        with anyio.move_on_after(STOP_GRACE_S):
            await process.aclose()  # past the grace it kills the child
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _lines(stream: ByteReceiveStream) -> AsyncIterator[bytes]:
    buffer = bytearray()
    async for chunk in stream:
        start = len(buffer)
        buffer += chunk
        while (end := buffer.find(b"\n", start)) >= 0:
            yield bytes(buffer[:end])
            del buffer[: end + 1]
            start = 0
    if buffer.strip():
        yield bytes(buffer)


async def _keep_tail(stream: ByteReceiveStream, tail: bytearray) -> None:
    async for chunk in stream:
        tail += chunk
        del tail[:-STDERR_KEPT]


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
