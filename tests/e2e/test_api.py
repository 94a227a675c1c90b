"""The Python API: `from rlm_cli import ask` runs the same loop and returns the --json fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlm_cli import ask
from rlm_cli.events import Event, RunFinished
from tests.fakes.provider import FakeProvider, code, script


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")


def test_ask_about_text(provider: FakeProvider) -> None:
    provider.root_script = script(code("print(context.count('x'))"), code("FINAL(str(context.count('x')))"))
    events: list[Event] = []
    result = ask("how many x?", text="x y x z x", model="openai/root", api_base=provider.url,
                 progress="none", trace=False, on_event=events.append)
    assert (result.answer, result.ready, result.exit_code, result.iterations) == ("3", True, 0, 2)
    assert result.to_json_dict()["input"]["documents"] == 1
    assert isinstance(events[-1], RunFinished)


def test_ask_reports_failures_in_the_result(tmp_path: Path) -> None:
    result = ask("q?", [str(tmp_path / "missing")], model="openai/root", api_base="http://127.0.0.1:9/v1", trace=False)
    assert result.exit_code == 2 and result.error and "missing" in result.error
    assert result.ready is False


def test_an_unknown_option_is_refused_naming_the_closest_one() -> None:
    with pytest.raises(TypeError, match=r"unknown option 'max_iteratons': did you mean 'max_iterations'\?"):
        ask("q?", text="x", model="openai/root", max_iteratons=5)
    with pytest.raises(TypeError, match=r"unknown option 'colour_of_sky'"):
        ask("q?", text="x", model="openai/root", colour_of_sky="blue")
