"""The bubblewrap command line for the REPL worker, and the one-time check that it works here.

What the sandbox achieves: new user, PID, IPC, UTS, cgroup and network namespaces (no network
at all unless --allow-net, which shares the host's); all capabilities dropped; the worker dies
with its host. The file system is a fresh read-only root holding only /usr and the /bin /lib
/sbin links, a few /etc files (loader cache, time zone, passwd), a private /dev and /proc, the
Python runtime and its import paths, the rlm_cli package, and the paths the run must read
(exactly the inputs, the manifest, the spool), all read-only; the scratch directory (the working
directory and $HOME), --allow-write paths and a 64 MiB /dev/shm are the only writable places. The user's home is not mounted:
only those of its paths just listed appear (e.g. a Python installed under ~/.pyenv).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence

from rlm_cli.sandbox.view import SYSTEM_DIRS, etc_paths

SHM_SIZE = 64 * 1024 * 1024  # bytes of /dev/shm, the one writable place in the private /dev


def bwrap_args(
    scratch: str, readable: Sequence[str], writable: Sequence[str], allow_net: bool
) -> list[str]:
    """Everything before the worker's own command line."""
    args = ["bwrap", "--unshare-all", "--die-with-parent", "--cap-drop", "ALL"]
    if allow_net:
        args.append("--share-net")
    for path in SYSTEM_DIRS:
        if os.path.islink(path):  # merged /usr: /bin -> usr/bin
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in etc_paths(allow_net):
        args += ["--ro-bind-try", path, path]
    # bubblewrap's /dev is a tmpfs of its own, writable and as large as RAM allows: made read-only
    # (device nodes still work), with a small capped /dev/shm
    args += ["--dev", "/dev", "--size", str(SHM_SIZE), "--tmpfs", "/dev/shm", "--remount-ro", "/dev", "--proc", "/proc"]
    for source, target in _mounts(readable):
        args += ["--ro-bind-try", source, target]
    for source, target in _mounts(writable):
        args += ["--bind", source, target]
    args += ["--chdir", scratch, "--remount-ro", "/"]
    return args


def _mounts(paths: Sequence[str]) -> list[tuple[str, str]]:
    """(source, target) binds for existing paths, parents first, skipping what a parent covers.

    A path reached through a symlink is mounted both where it really is and where it was named,
    so the interpreter's own path (say a venv's bin/python) works inside.
    """
    wanted: set[tuple[str, str]] = set()
    for path in paths:
        if os.path.exists(path):
            real, named = os.path.realpath(path), os.path.abspath(path)
            wanted |= {(real, real), (real, named)}
    kept: list[tuple[str, str]] = []
    for source, target in sorted(wanted, key=lambda pair: pair[1]):
        covered = [root for _, root in kept] + ["/usr", "/proc", "/dev"]
        if not any(_under(target, root) for root in covered):
            kept.append((source, target))
    return kept


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


@functools.cache
def probe(readable: tuple[str, ...], env: tuple[tuple[str, str], ...]) -> str | None:
    """None when bubblewrap can start the worker's Python here, else why not (checked once)."""
    if not sys.platform.startswith("linux") or shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed"
    with tempfile.TemporaryDirectory(prefix="rlm-probe-") as scratch:
        command = bwrap_args(scratch, readable, [scratch], allow_net=False)
        command += [sys.executable, "-c", "import rlm_cli.sandbox.worker"]
        try:
            done = subprocess.run(
                command, env=dict(env), stdin=subprocess.DEVNULL, capture_output=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return str(error)
    if done.returncode != 0:
        return done.stderr.decode(errors="replace").strip()[-500:] or f"exit status {done.returncode}"
    return None
