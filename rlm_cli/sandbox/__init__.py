"""The sandboxed, persistent REPL: a worker process holding the model's namespace, and the host
side that runs cells in it, serves its sub-calls through a Broker and survives its deaths.

The names below load on first use: the worker imports this package too, and must not pull in
the host side (subprocess, bubblewrap, the session).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rlm_cli.sandbox.calls import Broker
    from rlm_cli.sandbox.config import SandboxConfig
    from rlm_cli.sandbox.host import Sandbox
    from rlm_cli.sandbox.launch import resolve_mode
    from rlm_cli.sandbox.result import CellResult

__all__ = ["Broker", "CellResult", "Sandbox", "SandboxConfig", "resolve_mode"]
_HOMES = {
    "Broker": "calls", "CellResult": "result", "Sandbox": "host", "SandboxConfig": "config",
    "resolve_mode": "launch",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"rlm_cli.sandbox.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'rlm_cli.sandbox' has no attribute {name!r}")
