"""The warm process's address, request and idle end (its runs: tests/e2e/test_warm.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from rlm_cli.warm import address as warm_address
from rlm_cli.warm.address import Address, address_for
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
        "started": 1.5, "early": False, "token": "t"}


@pytest.mark.parametrize(
    "change",
    [{"args": "ask q"}, {"args": [1]}, {"env": {"A": 1}}, {"env": []}, {"umask": "022"}, {"nice": "0"},
     {"limits": {"RLIMIT_NOFILE": [1024]}}, {"limits": {"setrlimit": [1, 1]}}, {"limits": []}, {"started": None}, {"early": 1}, {"token": None}],
)
def test_a_malformed_request_is_refused(change: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="not a request"):
        Request.parse(json.dumps({**GOOD, **change}).encode(), [3, 4, 5, 6])


def test_a_request_without_its_four_streams_is_refused() -> None:
    assert Request.parse(json.dumps(GOOD).encode(), [3, 4, 5, 6]).args == ["ask", "q"]
    with pytest.raises(ValueError, match="not a request"):
        Request.parse(json.dumps(GOOD).encode(), [3, 4, 5])


SERVER = """
import json, sys
import rlm_cli.warm.preload as preload
preload.import_what_a_run_imports = lambda: None  # the server's loop alone, without LiteLLM
from rlm_cli.warm.address import Address, address_for
from rlm_cli.warm.server import become, serve
address = address_for(json.loads(sys.argv[1]), sys.path)  # -P: as keep_warm starts it
request = serve(address, float(sys.argv[2]))
if request is not None:
    become(request)
"""


@dataclass
class Server:
    """A server without LiteLLM at the address the test's callers' environment names."""

    process: subprocess.Popen[bytes]
    address: Address
    env: dict[str, str]

    def ask(self, args: list[str], **change: object) -> list[bytes]:
        """Hand it `rlm ARGS` as a caller would; what it answered, up to the end of the stream."""
        request = {**GOOD, "args": args, "env": self.env, "token": Path(self.address.token).read_text(), **change}
        here = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
        answers = []
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as conn:
            conn.connect(self.address.socket)
            socket.send_fds(conn, [json.dumps(request).encode()], [0, 1, 2, here])
            while said := conn.recv(64):
                answers.append(said)
        os.close(here)
        return answers

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def _server(tmp_path: Path, idle: float) -> Server:
    env = {**_env(tmp_path), "PATH": os.environ["PATH"]}
    process = subprocess.Popen([sys.executable, "-P", "-c", SERVER, json.dumps(env), str(idle)])
    probe = "import json, sys; from rlm_cli.warm.address import address_for; print(address_for(json.loads(sys.argv[1]), sys.path).key)"
    key = subprocess.run([sys.executable, "-P", "-c", probe, json.dumps(env)], capture_output=True, text=True, check=True).stdout.strip()
    address = Address(str(tmp_path / "run" / "rlm"), key)
    deadline = time.monotonic() + 30
    while not (Path(address.socket).exists() and Path(address.lock).read_text().strip() == str(process.pid)):
        assert time.monotonic() < deadline and process.poll() is None, "the server did not start"
        time.sleep(0.02)
    return Server(process, address, env)


def test_an_idle_server_removes_its_socket_and_token_and_leaves(tmp_path: Path) -> None:
    server = _server(tmp_path, idle=0.3)
    assert server.process.wait(timeout=30) == 0
    assert not Path(server.address.socket).exists() and not Path(server.address.token).exists()
    _server(tmp_path, idle=30).stop()  # the lock is free again: a new server takes it


def test_a_second_server_for_one_address_leaves_at_once(tmp_path: Path) -> None:
    first = _server(tmp_path, idle=30)
    try:
        second = subprocess.Popen([sys.executable, "-P", "-c", SERVER, json.dumps(first.env), "30"])
        assert second.wait(timeout=30) == 0
        assert Path(first.address.lock).read_text().strip() == str(first.process.pid)
    finally:
        first.stop()


def test_the_token_is_the_users_alone(tmp_path: Path) -> None:
    server = _server(tmp_path, idle=30)
    try:
        info = os.stat(server.address.token)
        assert info.st_mode & 0o777 == 0o600 and len(Path(server.address.token).read_text()) == 64
    finally:
        server.stop()


def test_only_a_caller_with_the_token_and_the_servers_environment_is_served(tmp_path: Path) -> None:
    server = _server(tmp_path, idle=30)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as conn:
            conn.connect(server.address.socket)
            conn.send(b"{not json")
            assert conn.recv(64) == b""  # closed without a child
        assert server.ask(["--version"], token="0" * 64) == []  # a guessed token
        assert server.ask(["--version"], env={**server.env, "EXTRA": "1"}) == []  # another environment
        said = server.ask(["--version"])
        assert said[0].startswith(b"pid ") and said[1:] == [b"exit 0"]  # `rlm --version`, run by the child
        assert server.process.poll() is None
    finally:
        server.stop()


def test_a_caller_under_no_new_privs_is_refused(tmp_path: Path) -> None:
    """A sandboxed REPL worker runs with no_new_privs: even with the token it gets nothing."""
    server = _server(tmp_path, idle=30)
    caller = f"""
import ctypes, json, os, socket, sys
ctypes.CDLL(None, use_errno=True).prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
request = json.loads(sys.argv[1])
with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as conn:
    conn.connect({server.address.socket!r})
    socket.send_fds(conn, [json.dumps(request).encode()], [0, 1, 2, os.open(".", os.O_RDONLY)])
    print(conn.recv(64).decode() or "refused")
"""
    request = {**GOOD, "args": ["--version"], "env": server.env, "token": Path(server.address.token).read_text()}
    try:
        done = subprocess.run([sys.executable, "-c", caller, json.dumps(request)], capture_output=True, text=True, timeout=30)
        assert done.stdout.strip() == "refused", done.stderr
        assert server.ask(["--version"])[-1] == b"exit 0"  # the same request from here is served
    finally:
        server.stop()


def test_a_server_that_does_not_take_the_command_in_time_leaves_it_to_the_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rlm_cli.warm import client

    env = _env(tmp_path)
    monkeypatch.setattr(os, "environ", env)
    monkeypatch.setattr(client, "HAND_OFF_SECONDS", 0.2)
    monkeypatch.setattr(client, "_cold", None)  # restored after: the hand-off notes a cold start
    address = address_for(env)
    assert address is not None
    Path(address.token).write_text("t" * 64)
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as silent:  # accepts, never answers
        silent.bind(address.socket)
        silent.listen(1)
        started = time.monotonic()
        assert client.hand_off(["ask", "q"], early=False, started=0.0) is None
        assert time.monotonic() - started < 10  # it gave up, rather than waiting on for ever
    assert client._cold is not None and client._cold[0].socket == address.socket  # so the run may start a server
