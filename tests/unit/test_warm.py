"""The warm process's address, request and idle end (its runs: tests/e2e/test_warm.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rlm_cli.warm import address as warm_address
from rlm_cli.warm.address import address_for
from rlm_cli.warm.client import enabled
from rlm_cli.warm.server import Request


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    return {"XDG_RUNTIME_DIR": str(runtime), "HOME": "/home/someone", **extra}


def test_a_server_serves_only_the_same_environment(tmp_path: Path) -> None:
    base = address_for(_env(tmp_path))
    assert base is not None
    assert Path(base.socket).parent == tmp_path / "run" / "rlm"
    same_session = address_for(_env(tmp_path, PWD="/elsewhere", OLDPWD="/x", SHLVL="3", COLUMNS="80"))
    other_key = address_for(_env(tmp_path, OPENAI_API_KEY="sk-other"))
    assert same_session is not None and same_session.socket == base.socket
    assert other_key is not None and other_key.socket != base.socket


def test_changed_code_gets_a_new_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "package"
    package.mkdir()
    module = package / "module.py"
    module.write_text("x = 1\n")
    monkeypatch.setattr(warm_address, "_PACKAGE", str(package))
    before = address_for(_env(tmp_path))
    os.utime(module, ns=(time.time_ns(), time.time_ns() + 10**9))
    after = address_for(_env(tmp_path))
    assert before is not None and after is not None and before.socket != after.socket


@pytest.mark.parametrize("mode", [0o755, 0o777])
def test_a_directory_others_can_enter_is_not_used(tmp_path: Path, mode: int) -> None:
    runtime = tmp_path / "run"
    (runtime / "rlm").mkdir(parents=True)
    (runtime / "rlm").chmod(mode)
    assert address_for({"XDG_RUNTIME_DIR": str(runtime)}) is None


def test_a_link_in_place_of_the_directory_is_not_followed(tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (runtime / "rlm").symlink_to(elsewhere)
    assert address_for({"XDG_RUNTIME_DIR": str(runtime)}) is None


def test_without_a_runtime_directory_a_private_one_under_tmp(tmp_path: Path) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    found = address_for({"TMPDIR": str(temporary)})
    assert found is not None
    assert Path(found.socket).parent == temporary / f"rlm-{os.getuid()}"
    assert (temporary / f"rlm-{os.getuid()}").stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize(("value", "on"), [("0", False), ("0.0", False), ("300", True), ("", True), ("soon", True)])
def test_rlm_warm_0_turns_the_hand_off_off(value: str, on: bool) -> None:
    assert enabled({"RLM_WARM": value}) is on
    assert enabled({}) is True


GOOD = {"args": ["ask", "q"], "env": {"A": "b"}, "umask": 0o22, "nice": 0, "limits": {"RLIMIT_NOFILE": [1024, 4096]},
        "started": 1.5, "early": False}


@pytest.mark.parametrize(
    "change",
    [{"args": "ask q"}, {"args": [1]}, {"env": {"A": 1}}, {"env": []}, {"umask": "022"}, {"nice": "0"},
     {"limits": {"RLIMIT_NOFILE": [1024]}}, {"limits": {"setrlimit": [1, 1]}}, {"limits": []}, {"started": None}, {"early": 1}],
)
def test_a_malformed_request_is_refused(change: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="not a request"):
        Request.parse(json.dumps({**GOOD, **change}).encode(), [3, 4, 5, 6])


def test_a_request_without_its_four_streams_is_refused() -> None:
    assert Request.parse(json.dumps(GOOD).encode(), [3, 4, 5, 6]).args == ["ask", "q"]
    with pytest.raises(ValueError, match="not a request"):
        Request.parse(json.dumps(GOOD).encode(), [3, 4, 5])


SERVER = """
import sys
import rlm_cli.warm.preload as preload
preload.import_what_a_run_imports = lambda: None  # the server's loop alone, without LiteLLM
from rlm_cli.warm.server import become, serve
request = serve(sys.argv[1], sys.argv[2], float(sys.argv[3]))
if request is not None:
    become(request)
"""


def _server(tmp_path: Path, idle: float) -> tuple[subprocess.Popen[bytes], Path, Path]:
    sock, lock = tmp_path / "s.sock", tmp_path / "s.lock"
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(sock), str(lock), str(idle)])
    deadline = time.monotonic() + 30
    while not (sock.exists() and lock.read_text().strip() == str(process.pid)):
        assert time.monotonic() < deadline and process.poll() is None, "the server did not start"
        time.sleep(0.02)
    return process, sock, lock


def test_an_idle_server_removes_its_socket_and_leaves(tmp_path: Path) -> None:
    process, sock, _ = _server(tmp_path, idle=0.3)
    assert process.wait(timeout=30) == 0
    assert not sock.exists()
    second, _, _ = _server(tmp_path, idle=30)  # the lock is free again: a new server takes it
    second.kill()
    second.wait()


def test_a_second_server_for_one_address_leaves_at_once(tmp_path: Path) -> None:
    first, sock, lock = _server(tmp_path, idle=30)
    try:
        second = subprocess.Popen([sys.executable, "-c", SERVER, str(sock), str(lock), "30"])
        assert second.wait(timeout=30) == 0
        assert lock.read_text().strip() == str(first.pid)
    finally:
        first.kill()
        first.wait()


def test_a_request_that_is_not_one_is_dropped_and_the_server_goes_on(tmp_path: Path) -> None:
    process, sock, _ = _server(tmp_path, idle=30)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as conn:
            conn.connect(str(sock))
            conn.send(b"{not json")
            assert conn.recv(64) == b""  # closed without a child
        here = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as conn:
            conn.connect(str(sock))
            socket.send_fds(conn, [json.dumps({**GOOD, "args": ["--version"]}).encode()], [0, 1, 2, here])
            said = conn.recv(64).decode()
            assert said.startswith("pid ")
            assert conn.recv(64) == b"exit 0"  # `rlm --version`, run by the child
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()
