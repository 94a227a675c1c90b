"""Where a warm server listens: one socket per interpreter, code and environment.

A server may only serve a caller that would have run the same code the same way, so its socket
is named by a hash of the interpreter, its import path, the modification times of rlm's own files
and of every directory on that path (an upgrade changes them), and the environment (a few
variables that differ between shells of one session left out). The directory is
`$XDG_RUNTIME_DIR/rlm`, else `<tmp>/rlm-<uid>`, created 0700 and used only when it is the user's
own and nobody else's to enter. Standard library only.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

# Variables that differ between two shells of one session and that nothing reads at import time.
VOLATILE = frozenset({"_", "PWD", "OLDPWD", "SHLVL", "COLUMNS", "LINES", "RLM_WARM"})
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Address:
    """A server's socket and lock file, in a private directory."""

    def __init__(self, directory: str, key: str) -> None:
        self.directory = directory
        self.key = key
        self.socket = os.path.join(directory, f"{key}.sock")
        self.lock = os.path.join(directory, f"{key}.lock")
        self.token = os.path.join(directory, f"{key}.token")  # the server's secret, 0600


def address_for(environ: Mapping[str, str], import_path: Sequence[str] | None = None) -> Address | None:
    """The address a server for this process and environment has; None where no safe directory is.

    `import_path`: the import path without the script's own folder (by default `sys.path[1:]`;
    a server started with `python -P` has no such entry and passes its whole `sys.path`).
    """
    directory = _private_directory(environ)
    if directory is None:
        return None
    path = sys.path[1:] if import_path is None else import_path
    digest = hashlib.sha256()
    for part in (os.path.realpath(sys.executable), *path, _code_signature(path), *_environment(environ)):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    return Address(directory, digest.hexdigest()[:24])


def _environment(environ: Mapping[str, str]) -> list[str]:
    return sorted(f"{name}={value}" for name, value in environ.items() if name not in VOLATILE)


def _code_signature(import_path: Sequence[str]) -> str:
    """Modification times of rlm's files and of each directory on the import path."""
    latest, count = 0, 0
    for root, _, files in os.walk(_PACKAGE):
        for name in files:
            if name.endswith(".py"):
                latest = max(latest, os.stat(os.path.join(root, name)).st_mtime_ns)
                count += 1
    places = []
    for entry in import_path:
        try:
            places.append(f"{entry}:{os.stat(entry).st_mtime_ns}")
        except OSError:
            places.append(entry)
    return f"{latest}:{count}:{';'.join(places)}"


def _private_directory(environ: Mapping[str, str]) -> str | None:
    runtime = environ.get("XDG_RUNTIME_DIR", "")
    base = runtime if os.path.isabs(runtime) and os.path.isdir(runtime) else None
    directory = os.path.join(base, "rlm") if base else os.path.join(_temporary(environ), f"rlm-{os.getuid()}")
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        info = os.lstat(directory)
    except OSError:
        return None
    private = stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077
    return directory if private else None


def _temporary(environ: Mapping[str, str]) -> str:
    given = environ.get("TMPDIR", "")
    return given if os.path.isabs(given) and os.path.isdir(given) else "/tmp"
