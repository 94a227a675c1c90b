"""Import, before the first fork, everything a run will import, so that no child pays for it.

rlm's own modules are imported whole; LiteLLM imports its HTTP stack and more on its first call,
which a throwaway fork makes against a one-reply server on 127.0.0.1 (nothing leaves the
machine) and names, for the server to import in turn. A fork is thrown away because a call
starts threads, and a process that forks children must have none.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import pkgutil
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer

_REPLY = json.dumps({
    "id": "warm-up", "object": "chat.completion", "created": 0, "model": "warm-up",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}).encode()


def import_what_a_run_imports() -> None:
    """rlm's modules, LiteLLM, and what LiteLLM's first call loads."""
    import rlm_cli
    from rlm_cli.llm import litellm_module

    for module in pkgutil.walk_packages(rlm_cli.__path__, "rlm_cli."):
        if not module.name.endswith("__main__"):
            with contextlib.suppress(ImportError):  # an optional extra's module (mcp, remote)
                importlib.import_module(module.name)
    litellm_module()
    for name in modules_loaded_by(_first_call):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def modules_loaded_by(job: Callable[[], None]) -> list[str]:
    """The modules `job` imports, run in a throwaway fork (its failures ignored)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (a child: measured by what it reports)
        os.close(read)
        before = set(sys.modules)
        with contextlib.suppress(BaseException):
            job()
        names = sorted(name for name in set(sys.modules) - before if not name.endswith("__main__"))
        with open(write, "w") as pipe:
            json.dump(names, pipe)
        os._exit(0)
    os.close(write)
    with open(read) as pipe:
        text = pipe.read()
    os.waitpid(pid, 0)
    try:
        names = json.loads(text)
    except ValueError:
        return []
    return [name for name in names if isinstance(name, str)]


def _first_call() -> None:
    from rlm_cli.llm import litellm_module

    with HTTPServer(("127.0.0.1", 0), _OneReply) as server:
        threading.Thread(target=server.handle_request, daemon=True).start()
        litellm_module().completion(
            model="openai/warm-up", api_key="warm-up", api_base=f"http://127.0.0.1:{server.server_port}/v1",
            messages=[{"role": "user", "content": "warm up"}], max_retries=0, timeout=10,
        )


class _OneReply(BaseHTTPRequestHandler):
    """A chat completion's reply to any POST."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(_REPLY)))
        self.end_headers()
        self.wfile.write(_REPLY)

    def log_message(self, format: str, *args: object) -> None:
        """Silent."""
