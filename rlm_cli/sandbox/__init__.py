"""The sandboxed, persistent REPL: a worker process holding the model's namespace, and the host
side that runs cells in it, serves its sub-calls through a Broker and survives its deaths.
"""

from __future__ import annotations

from rlm_cli.sandbox.calls import Broker
from rlm_cli.sandbox.clip import clip_output
from rlm_cli.sandbox.config import SandboxConfig
from rlm_cli.sandbox.host import Sandbox
from rlm_cli.sandbox.launch import resolve_mode
from rlm_cli.sandbox.result import CellResult

__all__ = ["Broker", "CellResult", "Sandbox", "SandboxConfig", "clip_output", "resolve_mode"]
