"""What a cell can see of the host, as "attack -> expected outcome", in each real isolation mode:
many scattered inputs must not widen what is readable; /dev is no memory-backed dumping ground."""

from __future__ import annotations

import ast
import io
import os
from pathlib import Path

import pytest

from rlm_cli.ingest import IngestOptions, ingest
from tests.unit.sandbox_helpers import SandboxFactory

# Each probe prints what it got: the text read, the names listed, or the error's class.
PROBE = """
import os
def probe(action, path):
    try:
        return action(path)
    except Exception as error:
        return type(error).__name__
seen = {
    "sibling": probe(lambda p: open(p).read(), SIBLING),
    "home": probe(os.listdir, HOME),
    "key": probe(lambda p: open(p).read(), KEY),
    "shadow": probe(lambda p: open(p).read(), "/etc/shadow"),
    "host environ": probe(lambda p: open(p, "rb").read(), f"/proc/{HOST}/environ"),
    "root": probe(os.listdir, "/"),
    "parent of inputs": probe(os.listdir, PARENT),
}
(len(context.files), "" + context.read(LAST), seen)
"""


@pytest.mark.parametrize("count", [70, 700])
def test_scattered_inputs_show_nothing_else_of_the_host(make: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("PRIVATE KEY\n")
    monkeypatch.setenv("HOME", str(home))
    (tmp_path / "sibling").mkdir()
    (tmp_path / "sibling" / "secret.txt").write_text("SIBLING SECRET\n")
    inputs = tmp_path / "inputs"
    files = [inputs / f"group{number % 35}" / f"dir{number}" / "input.txt" for number in range(count)]
    for number, file in enumerate(files):
        file.parent.mkdir(parents=True)
        file.write_text(f"input {number}\n")
    listed = tmp_path / "paths"
    listed.write_text("\n".join(map(str, files)))
    ingested = ingest([], IngestOptions(), spool_dir=tmp_path / "spool", paths_from=str(listed), stdin=io.BytesIO())

    code = PROBE.replace("SIBLING", repr(str(tmp_path / "sibling" / "secret.txt"))).replace("HOME", repr(str(home)))
    code = code.replace("KEY", repr(str(home / ".ssh" / "id_ed25519"))).replace("PARENT", repr(str(inputs)))
    code = code.replace("HOST", str(os.getpid())).replace("LAST", repr(str(files[-1])))
    sandbox = make(manifest_path=ingested.manifest_path, readable_paths=tuple(Path(root) for root in ingested.roots))
    result = sandbox.execute(code)
    assert result.error is None, result.error
    files_seen, last, seen = ast.literal_eval(result.value_repr or "")
    assert (files_seen, last) == (count, f"input {count - 1}\n")
    assert seen["sibling"] in ("PermissionError", "FileNotFoundError")
    assert seen["home"] in ("PermissionError", "FileNotFoundError")
    assert seen["key"] in ("PermissionError", "FileNotFoundError")
    assert seen["shadow"] in ("PermissionError", "FileNotFoundError")
    assert seen["host environ"] in ("PermissionError", "FileNotFoundError")
    assert seen["parent of inputs"] in ("PermissionError", "FileNotFoundError")
    # bubblewrap shows its own small root; the process mode's guard refuses the host's
    assert seen["root"] == "PermissionError" or not {"var", "root", "srv", "opt"} & set(seen["root"])


def test_the_private_dev_is_read_only_and_dev_shm_is_capped(make_bwrap: SandboxFactory) -> None:
    """Through ctypes (the audit hook not consulted), as an attacker would: the mounts must hold."""
    result = make_bwrap().execute(
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "block = b'x' * (1024 * 1024)\n"
        "def hoard(path, megabytes):\n"
        "    fd = libc.open(path.encode(), os.O_WRONLY | os.O_CREAT, 0o644)\n"
        "    if fd < 0:\n"
        "        return os.strerror(ctypes.get_errno())\n"
        "    for _ in range(megabytes):\n"
        "        if libc.write(fd, block, len(block)) < 0:\n"
        "            error = os.strerror(ctypes.get_errno())\n"
        "            libc.close(fd)\n"
        "            libc.unlink(path.encode())\n"
        "            return error\n"
        "    libc.close(fd)\n"
        "    return 'written'\n"
        "(hoard('/dev/hoard', 1), hoard('/dev/shm/hoard', 200), hoard('/dev/null', 1))"
    )
    assert result.error is None, result.error
    # /dev/shm: refused outright by Landlock where the kernel has it, else full at its cap
    assert result.value_repr in (
        "('Read-only file system', 'Permission denied', 'written')",
        "('Read-only file system', 'No space left on device', 'written')",
    )
