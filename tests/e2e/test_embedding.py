"""A program that embeds rlm keeps its process as it was: LiteLLM's switches, logging, the garbage
collector, the environment; `--debug` is the invocation's, and a run that has ended sends nothing."""

from __future__ import annotations

import _thread
import gc
import logging
import os
import threading
import time
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from rlm_cli import ask
from rlm_cli.events import Event, ModelReplied, RunFinished, SubcallStarted
from rlm_cli.ingest import _fewer_collections
from rlm_cli.llm import litellm_module, quiet_litellm
from tests.fakes.provider import FakeProvider, code, script


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")


@pytest.fixture
def embedder_settings() -> Iterator[logging.Handler]:
    """The embedding program's own LiteLLM and gc settings, put back after the test."""
    litellm = litellm_module()
    logger = logging.getLogger("LiteLLM")
    saved = (litellm.suppress_debug_info, litellm.drop_params, logger.handlers, logger.level, logger.propagate, gc.get_threshold())
    own = logging.StreamHandler()
    litellm.suppress_debug_info, litellm.drop_params = False, False
    logger.handlers, logger.propagate = [own], True
    logger.setLevel(logging.INFO)
    gc.set_threshold(700, 10, 10)
    yield own
    litellm.suppress_debug_info, litellm.drop_params, logger.handlers, level, logger.propagate, thresholds = saved
    logger.setLevel(level)
    gc.set_threshold(*thresholds)


def test_after_ask_litellm_logging_gc_and_the_environment_are_as_before(provider: FakeProvider, embedder_settings: logging.Handler) -> None:
    litellm = litellm_module()
    environment = dict(os.environ)
    during: list[bool] = []

    def seen(event: Event) -> None:
        if isinstance(event, ModelReplied):
            during.append(litellm.suppress_debug_info)

    provider.root_script = script(code("print(len(context))"), code("FINAL('ok')"))
    result = ask("q?", text="some text", model="openai/root", api_base=provider.url, progress="none", trace=False, on_event=seen)
    assert result.answer == "ok" and during == [True, True]  # quiet while the run calls LiteLLM
    logger = logging.getLogger("LiteLLM")
    assert (litellm.suppress_debug_info, litellm.drop_params) == (False, False)
    assert (logger.handlers, logger.level, logger.propagate) == ([embedder_settings], logging.INFO, True)
    assert gc.get_threshold() == (700, 10, 10)
    assert dict(os.environ) == environment


def test_overlapping_scopes_restore_what_the_first_one_found() -> None:
    litellm = litellm_module()
    before, thresholds = litellm.suppress_debug_info, gc.get_threshold()
    first, second = quiet_litellm(), quiet_litellm()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # another run is still calling: the switches stay ours
    assert litellm.suppress_debug_info is True
    second.__exit__(None, None, None)
    assert litellm.suppress_debug_info == before
    one, two = _fewer_collections(), _fewer_collections()
    one.__enter__()
    two.__enter__()
    one.__exit__(None, None, None)
    assert gc.get_threshold()[0] >= 20_000
    two.__exit__(None, None, None)
    assert gc.get_threshold() == thresholds


def test_debug_belongs_to_the_invocation(monkeypatch: pytest.MonkeyPatch) -> None:
    from rlm_cli.cli import app

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("rlm_cli.settings.resolve", broken)
    runner = CliRunner()
    debug = runner.invoke(app, ["--debug", "config", "show"])
    assert isinstance(debug.exception, RuntimeError)  # raised, with its traceback
    assert "RLM_DEBUG" not in os.environ
    plain = runner.invoke(app, ["config", "show"])
    assert plain.exit_code == 1 and "internal error: RuntimeError: boom" in plain.output


def test_a_run_that_has_ended_sends_no_more_sub_calls(provider: FakeProvider) -> None:
    # Ctrl-C while a batch is failing (503, retried after 1 s): the run ends, and its retries
    # with it, instead of going on spending after RunFinished.
    provider.fail(status=503, times=None, models=("sub",), retry_after=1)
    provider.root_script = script(code("x = llm_batch(['a', 'b'])"), code("FINAL('done')"))
    ended: list[float] = []

    def seen(event: Event) -> None:
        if isinstance(event, SubcallStarted) and event.index == 0:
            _thread.interrupt_main()
        if isinstance(event, RunFinished):
            ended.append(time.monotonic())

    result = ask("q?", text="t", model="openai/root", sub_model="openai/sub", api_base=provider.url, progress="none",
                 trace=False, on_event=seen)
    assert result.stopped_by == "interrupt" and ended and provider.sub_requests()  # the batch was sent and was failing when the run ended
    deadline = time.monotonic() + 10
    for thread in [t for t in threading.enumerate() if t.name.startswith("rlm-subcall")]:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))  # the batch is over, not retrying
        assert not thread.is_alive()
    assert [r for r in provider.sub_requests() if r.started > ended[0]] == []
