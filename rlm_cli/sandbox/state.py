"""The REPL's variables to a file and back, one pickle per variable, inside the worker.

Runs in the worker only: a snapshot holds what model-written code built, so it is unpickled in the
sandbox that made it, never in the host. Standard library only.
"""

from __future__ import annotations

import os
import pickle
from typing import Any

from rlm_cli.sandbox.messages import Stored

MAX_NAMES = 1000  # names reported per Stored message (the frame to the host stays small)


def save(namespace: dict[str, Any], names: list[str], path: str, max_bytes: int, max_total: int) -> Stored:
    """Pickle each of `names` from `namespace` into `path`; what cannot be pickled, or is too large
    (alone, or once the total is reached), is named in `lost` with the reason."""
    kept: dict[str, bytes] = {}
    lost: list[str] = []
    total = 0
    for name in names:
        try:
            data = pickle.dumps(namespace[name], protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # anything a __reduce__ raises: the variable is lost, not the run
            lost.append(f"{name}: cannot be pickled ({type(error).__name__})")
            continue
        if len(data) > max_bytes:
            lost.append(f"{name}: {len(data):,} bytes pickled, over the {max_bytes:,} a variable may keep")
        elif total + len(data) > max_total:
            lost.append(f"{name}: the snapshot reached its {max_total:,} bytes")
        else:
            kept[name] = data
            total += len(data)
    temporary = f"{path}.part"
    with open(temporary, "wb") as handle:
        pickle.dump(kept, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(temporary, path)
    return Stored(kept=list(kept)[:MAX_NAMES], lost=lost[:MAX_NAMES])


def load(namespace: dict[str, Any], path: str, reserved: frozenset[str]) -> Stored:
    """Bind the variables `save` wrote to `path`; one that fails to unpickle is named in `lost`."""
    try:
        with open(path, "rb") as handle:
            saved = pickle.load(handle)
    except Exception as error:  # a missing or damaged snapshot restores nothing, and says why
        return Stored(kept=[], lost=[f"(every variable): the snapshot could not be read ({type(error).__name__})"])
    if not isinstance(saved, dict):
        return Stored(kept=[], lost=["(every variable): the snapshot is not one rlm wrote"])
    kept: list[str] = []
    lost: list[str] = []
    for name, data in saved.items():
        if not isinstance(name, str) or not name.isidentifier() or name in reserved or not isinstance(data, bytes):
            continue
        try:
            namespace[name] = pickle.loads(data)
        except Exception as error:  # e.g. a class that was defined in a cell: pickled by name only
            lost.append(f"{name}: cannot be unpickled ({type(error).__name__}: {str(error)[:120]})")
        else:
            kept.append(name)
    return Stored(kept=kept[:MAX_NAMES], lost=lost[:MAX_NAMES])
