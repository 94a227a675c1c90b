"""Escapes a cell tried against the sandbox, in both modes, each with the outcome that must hold.

The cells are what a model that read a hostile input could write. In process mode the kernel's
Landlock rules hold them where the audit hook alone did not (dir_fd-relative opens, ctypes,
_posixsubprocess, hard links); under bubblewrap the namespaces hold them as well.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from rlm_cli.sandbox import landlock
from tests.unit.sandbox_helpers import REAL_MODES, FakeBroker, SandboxFactory, sandbox_factory

pytestmark = pytest.mark.skipif(landlock.abi_version() == 0, reason="the kernel has no Landlock")

SECRET = "sk-host-secret-0123456789"


@pytest.fixture(params=REAL_MODES)
def make(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxFactory]:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    yield from sandbox_factory(request.param, FakeBroker())


@pytest.fixture
def user_input(tmp_path: Path) -> Path:
    """The user's own file, given to the run as read-only input."""
    folder = tmp_path / "input"
    folder.mkdir()
    (folder / "data.txt").write_text("original\n")
    return folder


def run(make: SandboxFactory, code: str, user_input: Path | None = None) -> str:
    """The cell's printed output (or its error): what the attack got."""
    sandbox = make(readable_paths=(user_input,)) if user_input else make()
    result = sandbox.execute(code)
    return result.stdout + (result.error or "")


def test_host_environ_through_a_dir_fd_relative_open(make: SandboxFactory) -> None:
    got = run(make, (
        "import os\n"
        "proc = os.open('/proc', os.O_RDONLY)\n"
        "fd = os.open(f'{os.getppid()}/environ', os.O_RDONLY, dir_fd=proc)\n"
        "print(os.read(fd, 1 << 20))"
    ))
    assert SECRET not in got and ("PermissionError" in got or "FileNotFoundError" in got)


def test_host_memory_through_proc_mem(make: SandboxFactory) -> None:
    got = run(make, "import os\nprint(open(f'/proc/{os.getppid()}/mem', 'rb').read(1))")
    assert "Error" in got


def test_ptrace_attach_to_the_host(make: SandboxFactory) -> None:
    got = run(make, (
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "print('attach', libc.ptrace(16, os.getppid(), None, None))"  # PTRACE_ATTACH
    ))
    assert "attach -1" in got


def test_the_input_changed_through_a_hard_link_in_scratch(make: SandboxFactory, user_input: Path) -> None:
    got = run(make, (
        "import os\n"
        f"os.link({str(user_input / 'data.txt')!r}, 'mine.txt')\n"
        "open('mine.txt', 'w').write('tampered')"
    ), user_input)
    assert "Error" in got
    assert (user_input / "data.txt").read_text() == "original\n"


def test_the_input_deleted_through_a_dir_fd(make: SandboxFactory, user_input: Path) -> None:
    got = run(make, (
        "import os\n"
        f"folder = os.open({str(user_input)!r}, os.O_RDONLY)\n"
        "os.unlink('data.txt', dir_fd=folder)"
    ), user_input)
    assert "Error" in got
    assert (user_input / "data.txt").exists()


def test_a_tcp_connection_through_ctypes(make: SandboxFactory) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    try:
        got = run(make, (
            "import ctypes, socket, struct\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "fd = libc.socket(2, 1, 0)\n"
            f"address = struct.pack('!HH4s8x', 2, {port}, socket.inet_aton('127.0.0.1'))\n"
            "address = struct.pack('=H', 2) + address[2:]\n"
            "print('connect', libc.connect(fd, address, len(address)))"
        ))
        server.settimeout(0.5)
        with pytest.raises(TimeoutError):
            server.accept()
    finally:
        server.close()
    assert "connect -1" in got


def test_a_process_through_posix_spawn_and_a_ctypes_exec(make: SandboxFactory, tmp_path: Path) -> None:
    marker = tmp_path / "spawned"
    got = run(make, (
        "import ctypes, os\n"
        "try:\n"
        f"    os.posix_spawn('/bin/touch', ['touch', {str(marker)!r}], dict(os.environ))\n"
        "except Exception as error:\n"
        "    print('posix_spawn', type(error).__name__)\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "pid = libc.fork()\n"
        "if pid == 0:\n"
        f"    argv = (ctypes.c_char_p * 3)(b'touch', {str(marker).encode()!r}, None)\n"
        "    libc.execv(b'/bin/touch', argv)\n"
        "    libc._exit(7)  # exec refused\n"
        "print('child exit', os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))"
    ))
    assert "posix_spawn PermissionError" in got
    assert "child exit 7" in got
    assert not marker.exists()


def test_the_users_config_cannot_be_rewritten_to_turn_the_sandbox_off(
    make: SandboxFactory, isolated_env: Path
) -> None:
    config = isolated_env / "config" / "rlm" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('model = "openai/gpt-5-mini"\n')
    got = run(make, f"open({str(config)!r}, 'a').write('sandbox = \"none\"\\n')")
    assert "Error" in got
    assert "sandbox" not in config.read_text()


def test_the_system_password_file_cannot_be_read(make: SandboxFactory) -> None:
    got = run(make, "import os\nfd = os.open('/etc/shadow', os.O_RDONLY)\nprint(os.read(fd, 100))")
    assert "Error" in got
