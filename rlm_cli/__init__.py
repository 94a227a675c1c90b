"""rlm: answer questions about inputs far larger than a model's context window.

Kept import-light: `rlm --help` must not pay for litellm, and the entry point (`rlm_cli.early`)
writes its first line before even `typing` loads. `ask` is loaded on first use.
"""

from __future__ import annotations

__version__ = "0.1.0"

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from rlm_cli.api import ask

__all__ = ["__version__", "ask"]


def __getattr__(name: str) -> Any:
    if name == "ask":
        from rlm_cli.api import ask

        return ask
    raise AttributeError(f"module 'rlm_cli' has no attribute {name!r}")
