"""The import rules docs/ARCHITECTURE.md states, checked over the source itself (every import
statement, lazy ones inside functions included), so a new module cannot quietly break them."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "rlm_cli"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, as absolute dotted names (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


MODULES = {_module_name(path): _imports(path) for path in sorted(PACKAGE.rglob("*.py"))}


def _importers_of(target: str) -> set[str]:
    return {name for name, imported in MODULES.items() if any(i == target or i.startswith(target + ".") for i in imported)}


def test_the_scan_sees_the_package() -> None:
    assert {"rlm_cli.engine", "rlm_cli.llm", "rlm_cli.render.tree", "rlm_cli.sandbox.worker"} <= MODULES.keys()
    assert "litellm" in MODULES["rlm_cli.llm"]  # the rule below would pass vacuously otherwise


def test_only_llm_imports_litellm() -> None:
    assert _importers_of("litellm") == {"rlm_cli.llm"}


@pytest.mark.parametrize("forbidden", ["rlm_cli.engine", "rlm_cli.broker", "rlm_cli.llm", "rlm_cli.runner", "litellm"])
def test_renderers_never_import_the_loop_or_the_models(forbidden: str) -> None:
    renderers = {name for name in MODULES if name.startswith("rlm_cli.render")}
    assert not renderers & _importers_of(forbidden)


def test_the_engine_and_broker_reach_models_only_through_the_chat_seam() -> None:
    assert "rlm_cli.chat" in MODULES["rlm_cli.engine"] | MODULES["rlm_cli.broker"]
    assert not {"rlm_cli.engine", "rlm_cli.broker"} & _importers_of("rlm_cli.llm")


def test_the_corpus_imports_only_the_standard_library_and_itself() -> None:
    for name, imported in MODULES.items():
        if name.startswith("rlm_cli.corpus"):
            ours = {i for i in imported if i.startswith("rlm_cli")}
            assert all(i.startswith(("rlm_cli.corpus", "rlm_cli.units")) for i in ours), (name, ours)
            others = {i.split(".")[0] for i in imported - ours}
            assert others <= sys.stdlib_module_names, (name, others - sys.stdlib_module_names)
