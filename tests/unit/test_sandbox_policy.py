"""What code in the REPL must not be able to do, against each real isolation mode: write to the
home directory, reach the network, start processes, see API keys, read the host's secrets."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.sandbox_helpers import SandboxFactory


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for the user's home, holding a secret; $HOME points at it for the host."""
    path = tmp_path / "home"
    path.mkdir()
    (path / ".netrc").write_text("machine example.com password hunter2\n")
    monkeypatch.setenv("HOME", str(path))
    return path


@pytest.fixture
def listener() -> Iterator[tuple[int, list[socket.socket]]]:
    """A TCP server on 127.0.0.1 recording the connections it accepts."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1], accepted
    server.close()
    for conn in accepted:
        conn.close()


def test_writing_to_home_fails(make: SandboxFactory, home: Path) -> None:
    result = make().execute(f"open({str(home / 'x')!r}, 'w').write('pwned')")
    assert result.error is not None
    assert not (home / "x").exists()


def test_reading_home_fails(make: SandboxFactory, home: Path) -> None:
    result = make().execute(f"open({str(home / '.netrc')!r}).read()")
    assert result.error is not None and "hunter2" not in result.for_model(10_000)


def test_writing_in_the_scratch_dir_works(make: SandboxFactory) -> None:
    sandbox = make()
    result = sandbox.execute("import os, tempfile\nopen('notes.txt', 'w').write('kept')\n"
                             "tempfile.NamedTemporaryFile().name.startswith(os.getcwd())")
    assert result.error is None and result.value_repr == "True"
    assert sandbox.scratch_dir is not None
    assert (sandbox.scratch_dir / "notes.txt").read_text() == "kept"


def test_allow_write_opens_one_more_path(make: SandboxFactory, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = make(allow_write=(out,)).execute(f"open({str(out / 'r.txt')!r}, 'w').write('ok')")
    assert result.error is None
    assert (out / "r.txt").read_text() == "ok"


def test_network_is_refused(make: SandboxFactory, listener: tuple[int, list[socket.socket]]) -> None:
    port, accepted = listener
    result = make().execute(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)")
    assert result.error is not None
    assert "PermissionError" in result.error or "OSError" in result.error
    assert accepted == []


def test_name_lookups_are_refused(make: SandboxFactory) -> None:
    result = make().execute("import socket\nsocket.getaddrinfo('localhost', 80)")
    assert result.error is not None


def test_allow_net_lets_connections_through(make: SandboxFactory, listener: tuple[int, list[socket.socket]]) -> None:
    port, _ = listener
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).close()"
    assert make(allow_net=True).execute(code).error is None


@pytest.mark.parametrize(
    "code",
    ["import subprocess\nsubprocess.run(['true'])", "import os\nos.system('true')",
     "import os\nos.fork()", "import os\nos.execv('/bin/true', ['true'])"],
    ids=["subprocess", "system", "fork", "exec"],
)
def test_processes_cannot_be_started(make: SandboxFactory, code: str) -> None:
    sandbox = make()
    result = sandbox.execute(code)
    assert "PermissionError" in (result.error or "")
    assert sandbox.execute("1").value_repr == "1"


def test_api_keys_are_not_in_the_environment(make: SandboxFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY",
                 "AWS_ACCESS_KEY_ID", "GOOGLE_APPLICATION_CREDENTIALS", "MY_SERVICE_SECRET"):
        monkeypatch.setenv(name, "sk-secret-value")
    sandbox = make()
    missing = sandbox.execute("import os\nos.environ['OPENAI_API_KEY']")
    assert "KeyError" in (missing.error or "")
    dump = sandbox.execute("import os\nsorted(os.environ)")
    assert "sk-secret-value" not in (dump.value_repr or "")
    for name in ("API_KEY", "TOKEN", "SECRET", "AWS_", "GOOGLE_"):
        assert name not in (dump.value_repr or "")


def test_the_hosts_environment_cannot_be_read_through_proc(make: SandboxFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value")
    result = make().execute(
        "import os\n"
        "found = []\n"
        "try:\n"
        "    pids = os.listdir('/proc')\n"
        "except OSError:  # listing refused: aim at the host directly\n"
        "    pids = [str(os.getppid()), '1']\n"
        "for pid in pids:\n"
        "    if pid.isdigit() and int(pid) != os.getpid():\n"
        "        try:\n"
        "            found.append(open(f'/proc/{pid}/environ', 'rb').read())\n"
        "        except OSError:\n"
        "            pass\n"
        "any(b'sk-secret-value' in blob for blob in found)"
    )
    assert result.value_repr == "False"


def test_the_host_cannot_be_signalled(make: SandboxFactory) -> None:
    result = make().execute("import os, signal\nos.kill(os.getppid(), signal.SIGTERM)")
    assert "PermissionError" in (result.error or "")


def test_bwrap_holds_without_the_audit_hook(make_bwrap: SandboxFactory, home: Path) -> None:
    """Through ctypes the hook is not consulted: the mounts and the namespaces are what stop it.

    (The process mode is a guard, not a boundary: ctypes gets round it, as the README says.)
    """
    target = home / "via-ctypes"
    result = make_bwrap().execute(
        "import ctypes, os, socket\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        f"fd = libc.open({str(target).encode()!r}, os.O_WRONLY | os.O_CREAT, 0o644)\n"
        f"(fd, os.path.exists({str(home)!r}), [name for _, name in socket.if_nameindex()])"
    )
    assert result.error is None, result.error
    assert result.value_repr == "(-1, False, ['lo'])"
    assert not target.exists()
