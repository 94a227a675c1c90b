"""Shared fixtures: the fake provider and an isolated environment for every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.provider import FakeProvider
from tests.unit.sandbox_helpers import REAL_MODES, FakeBroker, SandboxFactory, sandbox_factory


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Config, state and cache directories per test; no RLM_* or provider settings leak in."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import os

    for name in list(os.environ):
        if name.startswith("RLM_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("RLM_WARM", "0")  # no run leaves a warm process behind (tests/e2e/test_warm.py does)
    return home


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    """A running fake OpenAI-compatible server; script it through its attributes."""
    with FakeProvider() as server:
        yield server


@pytest.fixture(params=REAL_MODES)
def make(request: pytest.FixtureRequest) -> Iterator[SandboxFactory]:
    """Sandboxes in every real mode, with a broker answering at once; orphans checked after."""
    yield from sandbox_factory(request.param, FakeBroker())


@pytest.fixture(params=REAL_MODES[:1])
def make_bwrap(request: pytest.FixtureRequest) -> Iterator[SandboxFactory]:
    """Sandboxes under bubblewrap only (skipped where it cannot run)."""
    yield from sandbox_factory(request.param, FakeBroker())
