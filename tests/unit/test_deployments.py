"""Deployments: reading a model_list, where each deployment's key comes from, and how the routed
client waits when the Router has no deployment to offer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rlm_cli.connections import KEYLESS
from rlm_cli.deployments import NoDeployment, RoutedClient, RouterConfig
from rlm_cli.errors import ConfigError, ProviderError
from rlm_cli.llm import RetryPolicy
from rlm_cli.settings import resolve
from rlm_cli.trace import secret_values
from tests.fakes.provider import FakeProvider


def entry(group: str = "team", **params: Any) -> dict[str, Any]:
    return {"model_name": group, "litellm_params": {"model": "openai/gpt-5-mini"} | params}


def test_deployments_are_named_by_their_id_or_their_place_in_the_group() -> None:
    config = RouterConfig.parse({"model_list": [
        entry(api_base="http://a/v1"), {**entry(api_base="http://b/v1"), "model_info": {"id": "eu"}}, entry(api_base="http://c/v1"),
        entry("other", api_base="http://d/v1"),
    ]}, "test")
    assert [d.name for d in config.deployments] == ["team-1", "eu", "team-3", "other-1"]
    assert config.serves("team") and not config.serves("openai/gpt-5-mini")
    assert config.model_list({})[1]["model_info"] == {"id": "eu"}  # the name LiteLLM reports back


@pytest.mark.parametrize(("document", "words"), [
    ({}, "expected a non-empty model_list"),
    ({"model_list": [{"litellm_params": {"model": "x"}}]}, "entry 1 needs a model_name"),
    ({"model_list": [{"model_name": "m"}]}, "needs litellm_params with a model"),
    ({"model_list": [entry(api_key="sk-live-123")]}, "write its api_key as os.environ/VARIABLE"),
    ({"model_list": [entry(rpm="many")]}, "rpm must be a whole number"),
    ({"model_list": [entry(), entry()], "router_settings": {"num_retries": 3}}, "router_settings cannot set num_retries"),
    ({"model_list": [{**entry(), "model_info": {"id": "a"}}, {**entry(), "model_info": {"id": "a"}}]}, "two deployments are named 'a'"),
])
def test_a_malformed_model_list_is_a_config_error_saying_what_is_wrong(document: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        RouterConfig.parse(document, "router.yaml")


def test_yaml_and_json_files_are_read_and_a_missing_one_is_named(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text("model_list:\n  - model_name: team\n    litellm_params: {model: openai/x, rpm: 60}\n", encoding="utf-8")
    (tmp_path / "r.json").write_text(json.dumps({"model_list": [entry()], "general_settings": {}}), encoding="utf-8")
    assert RouterConfig.load(str(tmp_path / "r.yaml")).deployments[0].params["rpm"] == 60
    assert RouterConfig.load(str(tmp_path / "r.json")).deployments[0].group == "team"
    with pytest.raises(ConfigError, match=r"cannot read the router file .*nope\.yaml"):
        RouterConfig.load(str(tmp_path / "nope.yaml"))
    (tmp_path / "bad.yaml").write_text("model_list: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="malformed router file"):
        RouterConfig.load(str(tmp_path / "bad.yaml"))


def test_the_config_file_holds_the_router_as_a_table(tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        'model = "team"\n[router.router_settings]\nrouting_strategy = "simple-shuffle"\n'
        '[[router.model_list]]\nmodel_name = "team"\n'
        'litellm_params = { model = "openai/x", api_base = "http://a/v1", api_key = "os.environ/EU_KEY", rpm = 100 }\n',
        encoding="utf-8",
    )
    settings = resolve({}, env={}, path=config_file).settings
    config = RouterConfig.load(settings.router)
    assert config.settings == {"routing_strategy": "simple-shuffle"}
    assert config.deployments[0].references() == {"api_key": "EU_KEY"}
    # A flag names a file instead, and wins.
    assert resolve({"router": "team.yaml"}, env={}, path=config_file).settings.router == "team.yaml"


def test_each_deployment_gets_its_own_key_and_no_other(monkeypatch: pytest.MonkeyPatch) -> None:
    config = RouterConfig.parse({"model_list": [
        entry(api_base="http://eu/v1", api_key="os.environ/EU_KEY"),
        entry(api_base="http://local/v1"),
        entry(),
    ]}, "test")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-usual-openai-key")
    params = [d["litellm_params"] for d in config.model_list({"EU_KEY": "eu-secret", "OPENAI_API_KEY": "unused"})]
    assert params[0]["api_key"] == "eu-secret"
    assert params[1]["api_key"] == KEYLESS  # a server of its own never gets the provider's usual key
    assert params[2]["api_key"] == "sk-usual-openai-key"  # the provider's own host gets its usual key
    with pytest.raises(ConfigError, match="missing api_key for deployment team-1 of team: set EU_KEY") as raised:
        config.model_list({})
    assert raised.value.hint == "export EU_KEY=..., or put it in ./.env"


def test_a_variable_a_deployment_reads_is_redacted_whatever_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAM_EU", "value-of-the-eu-key")
    assert "value-of-the-eu-key" not in secret_values()
    RouterConfig.parse({"model_list": [entry(api_key="os.environ/TEAM_EU")]}, "test")
    assert "value-of-the-eu-key" in secret_values()


def test_check_keys_names_a_deployment_variable_that_is_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    config = RouterConfig.parse({"model_list": [entry(api_key="os.environ/EU_KEY"), entry(api_key="os.environ/US_KEY")]}, "test")
    client = RoutedClient(config)
    monkeypatch.setenv("EU_KEY", "eu-secret")
    monkeypatch.delenv("US_KEY", raising=False)
    with pytest.raises(ConfigError, match="deployment team-2 of team: set US_KEY"):
        client.check_keys(["team"])
    monkeypatch.setenv("US_KEY", "us-secret")
    client.check_keys(["team"])
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):  # a model outside the list: as before
        client.check_keys(["team", "anthropic/claude-sonnet-4-5"])


class Unavailable:
    """A Router whose group is cooling down for a while, then answers."""

    def __init__(self, failures: int) -> None:
        self.failures = failures

    def completion(self, **kwargs: Any) -> Any:
        if self.failures:
            self.failures -= 1
            error = ValueError("No deployments available for selected model, Try again in 7 seconds. All deployments are in cooldown")
            error.cooldown_time = 7.0  # type: ignore[attr-defined]  # as LiteLLM's RouterRateLimitError carries it
            raise error
        raise ValueError("some other router bug")


def test_when_no_deployment_is_free_the_call_waits_as_long_as_the_router_says() -> None:
    config = RouterConfig.parse({"model_list": [entry(api_base="http://a/v1")]}, "test")
    pauses: list[float] = []
    client = RoutedClient(config, retry=RetryPolicy(max_retries=2, base_delay=0.01, sleep=pauses.append))
    client._router = Unavailable(failures=3)
    retries: list[str] = []
    with pytest.raises(ProviderError, match="team: No deployments available for selected model") as raised:
        client.complete("team", [{"role": "user", "content": "hi"}], on_retry=lambda retry: retries.append(retry.reason))
    assert raised.value.reason == "429" and retries == ["429", "429"]
    assert pauses == [7.0, 7.0]
    client._router = Unavailable(failures=0)
    with pytest.raises(ValueError, match="some other router bug"):  # not a provider's answer: raised as it is
        client.complete("team", [{"role": "user", "content": "hi"}])
    assert isinstance(NoDeployment("x", 1.0), ConnectionError)


def test_a_fallback_model_of_the_list_answers_when_its_group_fails() -> None:
    with FakeProvider() as failing, FakeProvider() as spare:
        failing.fail(status=500, times=None)
        config = RouterConfig.parse({"model_list": [
            {**entry("main", api_base=failing.url), "model_info": {"id": "main-eu"}},
            {**entry("spare", api_base=spare.url), "model_info": {"id": "spare-us"}},
        ], "router_settings": {"fallbacks": [{"main": ["spare"]}]}}, "test")
        completion = RoutedClient(config, retry=RetryPolicy(max_retries=0)).complete("main", [{"role": "user", "content": "hi"}])
        assert completion.deployment == "spare-us" and completion.text.startswith("sub-answer")
        assert [r.status for r in failing.requests] == [500] and len(spare.requests) == 1
        assert spare.requests[0].headers["authorization"] == f"Bearer {KEYLESS}"


def test_a_model_name_of_the_list_has_its_first_deployments_window_and_price() -> None:
    client = RoutedClient(RouterConfig.parse({"model_list": [entry(api_base="http://a/v1"), entry(model="openai/other")]}, "test"))
    assert client.price("team") == client.price("openai/gpt-5-mini") is not None
    assert client.context_window("team", 1) == client.context_window("openai/gpt-5-mini", 1) > 1


def test_a_failure_is_retried_at_once_only_where_another_deployment_can_take_it() -> None:
    pair = RoutedClient(RouterConfig.parse({"model_list": [entry(), entry()]}, "test"), retry=RetryPolicy(base_delay=5.0))
    lone = RoutedClient(RouterConfig.parse({"model_list": [entry()]}, "test"), retry=RetryPolicy(base_delay=5.0))
    failure = ConnectionError("reset by the deployment")
    assert pair._pause("team", failure, 0) == 0.0
    assert pair._pause("team", NoDeployment("all cooling down", 3.0), 0) >= 3.0
    pauses = {lone._pause("team", failure, 3) for _ in range(20)}
    assert max(pauses) > 0.0  # full jitter up to 40 s: twenty zeros would be a lone deployment hammered
