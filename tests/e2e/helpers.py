"""Run the real `rlm` command line in a child process, as a user's shell would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.e2e import forkserver
from tests.fakes.provider import FakeProvider

FAKE_KEY = "sk-test-1234567890-should-never-leak"


def rlm(
    args: Sequence[str], *, input: bytes | str | None = b"", env: dict[str, str] | None = None, timeout: float = 60,
    cwd: str | os.PathLike[str] | None = None, fresh: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m rlm_cli ARGS`; stdin is an empty pipe unless given. The process is a fork of
    one that imported the command line already (tests/e2e/forkserver.py); `fresh` starts a new
    interpreter instead, for what start-up itself does."""
    full_env = {**os.environ, "OPENAI_API_KEY": FAKE_KEY, "NO_COLOR": "1", **(env or {})}
    if isinstance(input, bytes):
        input = input.decode()
    if not fresh:
        return forkserver.run(args, input=input or "", env=full_env, cwd=cwd, timeout=timeout)
    return subprocess.run(
        [sys.executable, "-m", "rlm_cli", *args], input=input, env=full_env, capture_output=True,
        text=True, timeout=timeout, check=False, cwd=cwd,
    )


def model_flags(provider: FakeProvider, *extra: str) -> list[str]:
    """Flags pointing a run at the fake provider, with fast retries."""
    return ["--model", "openai/root", "--sub-model", "openai/sub", "--api-base", provider.url, *extra]


FAST_RETRIES = {"RLM_RETRY_BASE_DELAY": "0.01"}


def warm_server(runtime: Path) -> int | None:
    """The pid of the warm process listening under `$XDG_RUNTIME_DIR` = `runtime`, once it listens."""
    for lock in (runtime / "rlm").glob("*.lock"):
        text = lock.read_text().strip()
        if text.isdigit() and Path(f"/proc/{text}").exists() and any((runtime / "rlm").glob("*.sock")):
            return int(text)
    return None
