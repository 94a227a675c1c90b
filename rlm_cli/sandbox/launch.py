"""How a worker is launched per mode: the mode in use, its command line, its scrubbed environment.

Host side. The environment is built from an allow-list, so API keys, tokens and cloud
credentials never reach the worker.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import rlm_cli
from rlm_cli.errors import SandboxError
from rlm_cli.modes import SANDBOX_MODES
from rlm_cli.sandbox import bwrap

_KEEP = frozenset({
    "PATH", "LANG", "LANGUAGE", "TZ", "TERM", "NO_COLOR", "PYTHONPATH", "PYTHONHASHSEED",
    "PYTHONIOENCODING", "PYTHONUTF8", "LD_LIBRARY_PATH", "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
})
_KEEP_WITH_NET = frozenset({"SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"})
PACKAGE_ROOT = str(Path(rlm_cli.__file__).resolve().parent.parent)


def worker_env(scratch: str, allow_net: bool, source: Mapping[str, str] | None = None) -> dict[str, str]:
    """The worker's environment: harmless variables only, HOME and TMPDIR in the scratch dir."""
    source = os.environ if source is None else source
    keep = _KEEP | _KEEP_WITH_NET if allow_net else _KEEP
    env = {k: v for k, v in source.items() if k in keep or k.startswith("LC_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_ROOT, env.get("PYTHONPATH")]))
    env.update({
        "HOME": scratch, "TMPDIR": scratch, "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg",
    })
    return env


def runtime_paths() -> list[str]:
    """What the worker's Python must read: its prefixes, import paths and the rlm_cli package."""
    package = str(Path(rlm_cli.__file__).resolve().parent)
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, package}
    # not the project root of an editable install (it holds more than the package), nor the
    # current directory `python -m` puts first (it may be the user's home)
    skipped = {PACKAGE_ROOT, os.path.realpath(os.getcwd())}
    for entry in sys.path:
        if entry and os.path.isabs(entry) and os.path.realpath(entry) not in skipped:
            paths.add(entry)
    return sorted(paths)


def worker_command(
    mode: str, fd: int, scratch: str, readable: Sequence[str], writable: Sequence[str], allow_net: bool
) -> list[str]:
    """The argv starting a worker whose control socket is `fd`."""
    command = [sys.executable, "-m", "rlm_cli.sandbox.worker", "--fd", str(fd)]
    if mode == "bwrap":
        command = bwrap.bwrap_args(scratch, readable, writable, allow_net) + command
    return command


def resolve_mode(requested: str) -> str:
    """The mode to use: `auto` is bwrap where it works here, else process (checked once)."""
    if requested not in SANDBOX_MODES:
        raise SandboxError(f"unknown sandbox mode {requested!r}; use one of {', '.join(SANDBOX_MODES)}")
    if requested in ("process", "none"):
        return requested
    problem = _bwrap_problem()
    if problem is None:
        return "bwrap"
    if requested == "auto":
        return "process"
    raise SandboxError(
        f"--sandbox bwrap: bubblewrap cannot run the REPL here: {problem}",
        hint="install bubblewrap (Debian/Ubuntu: apt install bubblewrap) and allow user "
        "namespaces, or use --sandbox process",
    )


def _bwrap_problem() -> str | None:
    env = worker_env("/nonexistent", allow_net=False)
    return bwrap.probe(tuple(runtime_paths()), tuple(sorted(env.items())))
