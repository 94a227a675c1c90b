"""The REPL's variables saved by one worker and restored in another: pickled and unpickled in the
workers only, what cannot travel named, a forged answer refused."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from rlm_cli.sandbox import protocol
from rlm_cli.sandbox.channel import HostChannel
from rlm_cli.sandbox.messages import Ready, Stored
from tests.unit.sandbox_helpers import FakeBroker, SandboxFactory


def test_variables_travel_to_a_new_worker_and_what_cannot_is_named(make: SandboxFactory, tmp_path: Path) -> None:
    first = make()
    first.execute("counts = {'a': 3}\nrows = [1, 2]\nf = lambda x: x\nclass Local: pass\nobj = Local()\nimport os")
    snapshot = tmp_path / "run.state" / "variables.pickle"
    saved = first.save_variables(snapshot)
    assert saved is not None
    assert set(saved.kept) == {"counts", "rows"}
    assert sorted(item.split(":")[0] for item in saved.lost) == ["Local", "f", "obj"]
    assert snapshot.is_file()

    second = make()
    loaded = second.load_variables(snapshot)
    assert loaded == Stored(kept=["counts", "rows"], lost=[])
    assert second.execute("counts['a'] + sum(rows)").value_repr == "6"


def test_a_variable_over_the_cap_is_left_out(make: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rlm_cli.sandbox.host.SNAPSHOT_VARIABLE_BYTES", 1000)
    sandbox = make()
    sandbox.execute("big = 'x' * 5000\nsmall = 1")
    saved = sandbox.save_variables(tmp_path / "variables.pickle")
    assert saved is not None and saved.kept == ["small"]
    assert saved.lost[0].startswith("big: ") and "over the 1,000" in saved.lost[0]


def test_a_missing_snapshot_restores_nothing_and_says_so(make: SandboxFactory, tmp_path: Path) -> None:
    loaded = make().load_variables(tmp_path / "gone.pickle")
    assert loaded is not None and loaded.kept == [] and "missing" in loaded.lost[0]


def test_a_stored_message_nobody_asked_for_cuts_the_worker_off() -> None:
    ours, theirs = socket.socketpair()
    broken: list[bool] = []
    channel = HostChannel(ours, FakeBroker(), lambda: broken.append(True))
    channel.start()
    protocol.send(theirs, Ready())
    assert isinstance(channel.next_event(2), Ready)
    protocol.send(theirs, Stored(kept=["x"], lost=[]))
    closed = channel.next_event(2)
    assert closed is not None and "no save or load was asked for" in str(closed)
    assert broken
    ours.close()
    theirs.close()
