"""Hostile input through the real command line: endless or oversized stdin."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from tests.e2e import forkserver
from tests.e2e.helpers import FAKE_KEY


def _ask(args: list[str], stdin: int, tmp_path: Path, **extra_env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {
        **os.environ, "OPENAI_API_KEY": FAKE_KEY, "NO_COLOR": "1", "TMPDIR": str(tmp_path),
        "XDG_STATE_HOME": str(tmp_path / "state"), **extra_env,
    }
    process = forkserver.Forked(
        ["ask", *args, "--model", "openai/x", "--api-base", "http://127.0.0.1:9/v1"], stdin=stdin, env=env, cwd=None,
    )
    started = time.monotonic()  # the fork exists (the fork server's own start is not the run's)
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.wait(), out, err), time.monotonic() - started


def test_dev_zero_on_stdin_stops_at_the_timeout_with_one_clear_line(tmp_path: Path) -> None:
    with open("/dev/zero", "rb") as zero:
        done, took = _ask(["-", "what is this?", "--timeout", "2", "--json"], zero.fileno(), tmp_path)
    assert done.returncode == 2, done.stderr
    assert took < 2 + 8  # at most the timeout, with room for a loaded machine
    assert json.loads(done.stdout)["error"] == "--timeout 2 s passed while reading stdin; the input was not read"
    assert "Traceback" not in done.stderr
    assert not list(tmp_path.glob("rlm-*")), "the spool was left behind"


def test_stdin_past_max_stdin_is_exit_2(tmp_path: Path) -> None:
    with open("/dev/zero", "rb") as zero:
        done, _ = _ask(["-", "what is this?"], zero.fileno(), tmp_path, RLM_MAX_STDIN="1000000")
    assert done.returncode == 2
    assert "rlm: error: stdin is larger than max_stdin (1,000,000 bytes)" in done.stderr
    assert "RLM_MAX_STDIN" in done.stderr  # the hint names the setting
