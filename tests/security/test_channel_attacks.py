"""Attacks on the host through the worker's control channel, each with the outcome it must have.

The model's code can reach the channel: the control socket's fd number is on the worker's
command line (`sys.argv`), so a cell can write raw frames to it, stop the worker from reading it,
or flood it. Whatever it writes, the host must survive, keep the answer drafted before the
attack, enforce its time limits, and leave no process behind (every test ends with that check).

| attack | outcome |
| --- | --- |
| unknown op, call without id, mistyped answer, `ready` = "false", mistyped field | worker cut off and restarted; the cell reports why; draft answer kept |
| result for another cell, or a second result | worker cut off (now or before the next cell); draft kept |
| a frame header claiming 700 MB | refused from the header, host memory unchanged; worker cut off |
| duplicate call id while the first is in flight | worker cut off |
| call with an id the worker never used | host answers it, the worker ignores the reply, the cell goes on |
| forged call with bad arguments or an unknown kind | the cell gets an error reply, the broker is not called |
| `answer["ready"] = "false"` in a plain cell | not ready, and the cell is told why |
| the worker stops reading, the cell floods calls | the send times out, worker cut off within the cell's limit |
| a sub-call that outlasts the run's time left | the cell is killed at the wall-clock deadline |
| a flood of bogus calls in a cell that ignores the interrupt | the cell's clock keeps running: killed at its limit |
| Ctrl-C while the channel is wedged | one Ctrl-C ends the host with the draft answer |
| host SIGKILLed while the worker cannot see its channel close | the worker dies with the host |
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rlm_cli.sandbox import Sandbox, channel
from tests.unit.sandbox_helpers import (
    REAL_MODES,
    FakeBroker,
    SandboxFactory,
    processes_in,
    sandbox_factory,
    start_host,
    wait_until,
)

# Helpers the hostile cells use: `forge` writes one raw frame to the control socket, `wedge`
# points the worker's own reader at a dead socket (keeping the real one open) and returns it.
FORGE = """
import json, os, socket, struct, sys, threading, time
_fd = int(sys.argv[sys.argv.index("--fd") + 1])
def forge(message, fd=_fd):
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    os.write(fd, struct.pack(">I", len(body)) + body)
def wedge():
    keep = os.dup(_fd)
    global _dead
    _dead = socket.socketpair()
    os.dup2(_dead[0].fileno(), _fd)
    return keep
def result(**changes):
    fields = dict(stdout="", stderr="", stdout_chars=0, stderr_chars=0, value_repr=None, error=None,
                  duration_s=0.0, timed_out=False, interrupted=False, restored=[], variables=[],
                  answer={"content": "forged", "ready": False}, notes=[], cell=2)
    return {"op": "result", **{**fields, **changes}}
def hang():
    while True:
        time.sleep(0.05)
"""
DRAFT = "draft before the attack"


class GatedBroker(FakeBroker):
    """Answers at once, except prompts starting with "slow", which wait for `release`."""

    def __init__(self) -> None:
        super().__init__(rule=self._rule)
        self.release = threading.Event()

    def _rule(self, prompt: str) -> str:
        if prompt.startswith("slow"):
            self.release.wait(30)
        return f"answer to {prompt[:20]}"


@pytest.fixture
def broker() -> Iterator[GatedBroker]:
    broker = GatedBroker()
    yield broker
    broker.release.set()


@pytest.fixture(params=REAL_MODES)
def make(request: pytest.FixtureRequest, broker: GatedBroker) -> Iterator[SandboxFactory]:
    yield from sandbox_factory(request.param, broker)


def _drafted(make: SandboxFactory, **options: float) -> Sandbox:
    sandbox = make(**options)
    assert sandbox.execute(FORGE + f"answer['content'] = {DRAFT!r}").error is None  # cell 1
    return sandbox


def _still_serves(sandbox: Sandbox) -> None:
    after = sandbox.execute("llm_query('after') + ' ' + str(len(context))")
    assert after.value_repr == "'answer to after 0'", after
    assert sandbox.answer == {"content": DRAFT, "ready": False}


CUT_OFF = {
    "unknown op": ("forge({'op': 'pwn'})", "unexpected op 'pwn'"),
    "call without id": ("forge({'op': 'call', 'kind': 'llm_query', 'args': {'prompt': 'x'}})", "missing field 'id'"),
    "answer of the wrong type": ("forge(result(answer='the answer'))", "answer: expected Answer, got str"),
    "ready as a string": ("forge(result(answer={'content': 'x', 'ready': 'false'}))", "ready: expected bool, got str"),
    "mistyped field": ("forge(result(stdout_chars='many'))", "stdout_chars: expected int, got str"),
    "result for another cell": ("forge(result(cell=9))", "a result for cell 9 while cell 2 ran"),
    "frame that is not JSON": ("forge(b'{not json')", "not JSON"),
    "duplicate call id": (
        "forge({'op': 'call', 'id': 10**6, 'kind': 'llm_query', 'args': {'prompt': 'slow'}})\n"
        "forge({'op': 'call', 'id': 10**6, 'kind': 'llm_query', 'args': {'prompt': 'slow'}})",
        "call id 1000000 is already in flight",
    ),
}


@pytest.mark.parametrize("attack", CUT_OFF, ids=list(CUT_OFF))
def test_a_forged_message_cuts_the_worker_off_and_the_draft_survives(make: SandboxFactory, attack: str) -> None:
    forged, reason = CUT_OFF[attack]
    sandbox = _drafted(make)
    hit = sandbox.execute(forged + "\nhang()")
    assert hit.restarted and hit.error is not None and reason in hit.error, hit
    assert "broke the control protocol" in hit.error
    _still_serves(sandbox)


def _rss_kib() -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


def test_a_700_mb_frame_header_is_refused_without_reading_the_body(make: SandboxFactory) -> None:
    sandbox = _drafted(make)
    before = _rss_kib()
    hit = sandbox.execute("os.write(_fd, struct.pack('>I', 700 * 2**20) + b'{' * 2**20)\nhang()")
    assert hit.restarted and hit.error is not None and "734,003,200 bytes is over the" in hit.error
    assert _rss_kib() - before < 50 * 1024
    _still_serves(sandbox)


def test_a_second_result_cuts_the_worker_off_now_or_before_the_next_cell(make: SandboxFactory) -> None:
    sandbox = _drafted(make)
    hit = sandbox.execute("forge(result())\nforge(result())\nhang()")
    assert hit.answer["content"] == "forged"  # the first one stands in for the cell: it may set the answer
    nxt = sandbox.execute("1 + 1")
    said = f"{nxt.error} {nxt.notice}"
    assert "a result when no cell was running" in said or "a result for cell 2 while cell 3 ran" in said, nxt
    assert sandbox.answer["content"] == "forged"


def test_a_reply_to_an_id_the_worker_never_used_is_ignored(make: SandboxFactory, broker: GatedBroker) -> None:
    sandbox = _drafted(make)
    done = sandbox.execute(
        "forge({'op': 'call', 'id': 10**6, 'kind': 'llm_query', 'args': {'prompt': 'forged'}})\n"
        "[llm_query('one'), llm_query('two')]"
    )
    assert done.error is None and done.value_repr == "['answer to one', 'answer to two']"
    assert ("llm_query", "forged", {"model": None, "tools": None}) in broker.calls
    _still_serves(sandbox)


def test_forged_arguments_get_an_error_reply_and_never_reach_the_broker(make: SandboxFactory, broker: GatedBroker) -> None:
    sandbox = _drafted(make)
    sandbox.execute(
        "forge({'op': 'call', 'id': 10**6, 'kind': 'llm_query', 'args': {'prompt': 3}})\n"
        "forge({'op': 'call', 'id': 10**6 + 1, 'kind': 'shell', 'args': {}})"
    )
    _still_serves(sandbox)
    assert [call[1] for call in broker.calls] == ["after"]


def test_ready_set_to_a_string_does_not_count_and_the_model_is_told(make: SandboxFactory) -> None:
    sandbox = make()
    done = sandbox.execute("answer['content'] = 'x'\nanswer['ready'] = 'false'")
    assert done.answer == {"content": "x", "ready": False}
    assert done.notice is not None and "only True marks the answer ready" in done.notice
    assert sandbox.execute("answer['ready']").value_repr == "False"


def test_a_worker_that_stops_reading_is_cut_off_within_the_cell_limit(
    make: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(channel, "SEND_TIMEOUT", 0.5)
    sandbox = _drafted(make, cell_timeout=20)
    started = time.monotonic()
    # 2,000 replies fill the socket's buffer (a send waits only once it is full)
    hit = sandbox.execute(
        "keep = wedge()\n"
        "for i in range(2000):\n"
        "    forge({'op': 'call', 'id': 10**6 + i, 'kind': 'llm_query', 'args': {'prompt': 'x' * 1_000}}, keep)\n"
        "hang()"
    )
    assert hit.restarted and hit.error is not None and "stopped reading its control channel" in hit.error
    assert time.monotonic() - started < 10
    _still_serves(sandbox)


def test_a_sub_call_cannot_hold_the_cell_past_the_runs_time_left(make: SandboxFactory) -> None:
    sandbox = _drafted(make, cell_timeout=30)
    started = time.monotonic()
    hit = sandbox.execute("llm_query('slow')", timeout=1.0)
    assert hit.timed_out and hit.restarted
    assert time.monotonic() - started < 5
    _still_serves(sandbox)


def test_bogus_calls_do_not_stop_the_cells_clock(make: SandboxFactory) -> None:
    sandbox = _drafted(make, cell_timeout=1.0)
    started = time.monotonic()
    hit = sandbox.execute(
        "i = 10**6\n"
        "while True:\n"
        "    try:\n"
        "        i += 1\n"
        "        forge({'op': 'call', 'id': i, 'kind': 'nothing', 'args': {}})\n"
        "    except BaseException:\n"
        "        pass"
    )
    assert hit.timed_out and hit.restarted
    assert time.monotonic() - started < 5
    _still_serves(sandbox)


# The host's broker takes a minute per call: the flood fills the host's in-flight bound, so the
# host stops reading, while the worker reads nothing either. The cell blocks in its writes.
WEDGED = (
    FORGE + "keep = wedge()\nopen('started', 'w').close()\n"
    "for i in range(1000):\n"
    "    forge({'op': 'call', 'id': 10**6 + i, 'kind': 'llm_query', 'args': {'prompt': 'x' * 100_000}}, keep)\n"
    "hang()"
)


@pytest.mark.parametrize("mode", REAL_MODES)
def test_one_ctrl_c_ends_a_host_whose_channel_is_wedged(mode: str) -> None:
    host, scratch = start_host(mode, "answer['content'] = 'so far'", WEDGED)
    try:
        host.send_signal(signal.SIGINT)
        assert host.wait(timeout=15) == 130
    finally:
        host.kill()
    assert host.stdout is not None and host.stdout.read() == "so far\n"
    assert wait_until(lambda: not processes_in(scratch))


@pytest.mark.parametrize("mode", REAL_MODES)
def test_a_killed_host_takes_along_a_worker_cut_off_from_its_channel(mode: str) -> None:
    cell = FORGE + "keep = wedge()\nopen('started', 'w').close()\nhang()"
    host, scratch = start_host(mode, cell)
    host.kill()
    host.wait(timeout=10)
    assert wait_until(lambda: not processes_in(scratch), timeout=5)
