"""The failure policy: which failed calls end a run, and empty replies flagged then stopped."""

from __future__ import annotations

import pytest

from rlm_cli.errors import ConfigError, ProviderError
from rlm_cli.failures import Failures


def test_a_batch_stops_the_run_only_when_every_call_failed_the_same_way() -> None:
    failures = Failures()
    auth = ConfigError("openai/sub: the provider refused the API key", reason="auth")
    failures.after_calls([auth, None, auth])  # one call worked: the model can go on
    failures.after_calls([auth, ProviderError("x", reason="context_window")])  # two ways: prompt-specific
    failures.after_calls([])
    assert failures.failure is None
    failures.after_calls([auth, ConfigError("again", reason="auth")])
    assert failures.failure is auth
    failures.after_calls([ProviderError("later", reason="500")])
    assert failures.failure is auth  # the first failure is the one reported


def test_empty_replies_get_a_notice_then_end_the_run() -> None:
    failures = Failures(empty_limit=3)
    notice = failures.reply("ollama/qwen", empty=True, finish_reason="stop")
    assert notice is not None and "ollama/qwen returned an empty reply" in notice and "--api-base" in notice
    assert failures.reply("ollama/qwen", empty=True, finish_reason="stop") is None  # said once
    assert failures.reply("ollama/qwen", empty=False, finish_reason="stop") is None  # a real reply resets
    failures.reply("ollama/qwen", empty=True, finish_reason="length")
    failures.reply("ollama/qwen", empty=True, finish_reason="length")
    with pytest.raises(ProviderError, match="3 empty replies in a row: its output cap") as raised:
        failures.reply("ollama/qwen", empty=True, finish_reason="length")
    assert failures.failure is raised.value
