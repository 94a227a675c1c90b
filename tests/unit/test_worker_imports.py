"""The REPL worker imports only what it needs: its own modules and the corpus, never the host
side of the sandbox (subprocess, bubblewrap, the session) nor any third-party library."""

from __future__ import annotations

import ast

from tests.unit.sandbox_helpers import SandboxFactory

WORKER_MODULES = {
    "rlm_cli", "rlm_cli.sandbox", "rlm_cli.sandbox.alarm", "rlm_cli.sandbox.capture",
    "rlm_cli.sandbox.contract", "rlm_cli.sandbox.landlock", "rlm_cli.sandbox.messages",
    "rlm_cli.sandbox.policy", "rlm_cli.sandbox.protocol", "rlm_cli.sandbox.repl", "rlm_cli.sandbox.view",
    "rlm_cli.units",
}
NEVER = {"subprocess", "litellm", "typer", "rich", "pypdf", "chardet", "pathspec", "httpx", "openai"}
LISTING = "import sys\nsorted(sys.modules)"


def test_a_running_worker_imported_only_its_own_modules(make: SandboxFactory) -> None:
    listed = make().execute(LISTING).value_repr
    assert listed is not None
    modules = set(ast.literal_eval(listed))
    ours = {name for name in modules if name.startswith("rlm_cli") and not name.startswith("rlm_cli.corpus")}
    assert ours == WORKER_MODULES
    assert not modules & NEVER
