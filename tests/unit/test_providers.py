"""Model name -> provider, each model's connection, and where keys are found."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from rlm_cli.connections import KEYLESS, Connections
from rlm_cli.errors import ConfigError, InputError
from rlm_cli.keys import (
    DOTENV,
    ENV,
    KEYS_FILE,
    FoundKey,
    Keychain,
    keys_path,
    read_stored,
    write_stored,
)
from rlm_cli.providers import PROVIDERS, provider_for, provider_named, unknown_model_error


@pytest.mark.parametrize(
    ("model", "provider", "key_var"),
    [
        ("openai/gpt-5-mini", "openai", "OPENAI_API_KEY"),
        ("gpt-5-mini", "openai", "OPENAI_API_KEY"),  # bare names of the usual families
        ("o4-mini", "openai", "OPENAI_API_KEY"),
        ("claude-sonnet-4-5", "anthropic", "ANTHROPIC_API_KEY"),
        ("anthropic/claude-haiku-4-5", "anthropic", "ANTHROPIC_API_KEY"),
        ("gemini/gemini-2.5-flash", "gemini", "GEMINI_API_KEY"),
        ("openrouter/anthropic/claude-sonnet-4.5", "openrouter", "OPENROUTER_API_KEY"),
        ("together_ai/meta-llama/Llama-3-8b", "together_ai", "TOGETHERAI_API_KEY"),
        ("ollama_chat/qwen3", "ollama_chat", None),
        ("hosted_vllm/Qwen/Qwen3-8B", "hosted_vllm", "HOSTED_VLLM_API_KEY"),
        ("bedrock/anthropic.claude-3", "bedrock", None),
    ],
)
def test_the_table_places_the_usual_models(model: str, provider: str, key_var: str | None) -> None:
    found = provider_for(model)
    assert found is not None and found.name == provider and found.key_var == key_var


@pytest.mark.parametrize("model", ["qwen2.5-coder", "opnai/gpt-5", "cohere/command-r", "gpt4"])
def test_names_only_litellm_can_place_are_left_to_it(model: str) -> None:
    assert provider_for(model) is None


@pytest.mark.parametrize("model", ["openai/", "/gpt-5", "", "openai/gpt 5"])
def test_malformed_names_are_config_errors(model: str) -> None:
    with pytest.raises(ConfigError, match="malformed model name"):
        provider_for(model)


@pytest.mark.parametrize(
    ("model", "api_base", "message", "hint"),
    [
        ("opnai/gpt-5", None, "unknown provider 'opnai' in model 'opnai/gpt-5'", "did you mean openai/gpt-5?"),
        ("antrhopic/claude-haiku-4-5", None, "unknown provider", "did you mean anthropic/claude-haiku-4-5?"),
        ("qwen2.5-coder", "http://127.0.0.1:8000/v1", "model 'qwen2.5-coder' names no provider", "for an OpenAI-compatible server use openai/qwen2.5-coder"),
        ("qwen2.5-coder", None, "names no provider", "write PROVIDER/MODEL, e.g. openai/gpt-5-mini or anthropic/claude-sonnet-4-5; for a local server use openai/qwen2.5-coder with --api-base, or ollama_chat/qwen2.5-coder"),
        ("meta-llama/Llama-3-8B", "http://127.0.0.1:8000/v1", "unknown provider 'meta-llama'", "for an OpenAI-compatible server use openai/meta-llama/Llama-3-8B"),
    ],
)
def test_an_unknown_provider_gets_a_hint_that_names_a_fix(model: str, api_base: str | None, message: str, hint: str) -> None:
    error = unknown_model_error(model, api_base)
    assert message in error.message and "\n" not in error.message
    assert error.hint == hint


def test_a_did_you_mean_guess_draws_on_litellms_providers_too() -> None:
    assert unknown_model_error("cohre/command-r", None, known=["cohere"]).hint == "did you mean cohere/command-r?"


def keychain(env: dict[str, str] | None = None, dotenv: dict[str, str] | None = None, stored: dict[str, str] | None = None) -> Keychain:
    return Keychain(env or {}, dotenv or {}, stored or {})


def connections(chain: Keychain, model: str, sub: str, api_base: str | None = None, sub_api_base: str | None = None) -> Connections:
    settings = SimpleNamespace(model=model, effective_sub_model=sub, api_base=api_base, sub_api_base=sub_api_base)
    built = Connections.from_settings(settings)
    built._keychain_factory = lambda: chain
    return built


LOCAL = "http://127.0.0.1:8000/v1"


def test_the_sub_model_shares_the_roots_base_only_when_the_same_provider() -> None:
    chain = keychain({"OPENAI_API_KEY": "sk-o", "ANTHROPIC_API_KEY": "sk-a"})
    same = connections(chain, "openai/root", "openai/sub", LOCAL)
    assert same.get("openai/sub").api_base == LOCAL
    other = connections(chain, "openai/root", "anthropic/claude-haiku-4-5", LOCAL)
    sub = other.get("anthropic/claude-haiku-4-5")
    assert sub.api_base is None and sub.call_options() == {"api_key": "sk-a"}
    assert other.get("openai/root").call_options() == {"api_base": LOCAL, "api_key": "sk-o"}
    # A model the REPL names: the base of a configured model of its own provider, else none.
    assert other.get("openai/another").api_base == LOCAL
    assert other.get("anthropic/claude-sonnet-4-5").api_base is None
    explicit = connections(chain, "openai/root", "anthropic/claude-haiku-4-5", LOCAL, "http://127.0.0.1:9/")
    assert explicit.get("anthropic/claude-haiku-4-5").api_base == "http://127.0.0.1:9/"


def test_a_local_openai_compatible_server_needs_no_key_but_the_sub_model_still_does() -> None:
    built = connections(keychain(), "openai/root", "anthropic/claude-haiku-4-5", LOCAL)
    assert built.get("openai/root").call_options() == {"api_base": LOCAL, "api_key": KEYLESS}
    with pytest.raises(ConfigError, match="missing API key for anthropic/claude-haiku-4-5: set ANTHROPIC_API_KEY"):
        built.check(["openai/root", "anthropic/claude-haiku-4-5"], unknown=_never)
    # An explicit base for Anthropic (a proxy) does not waive its key.
    proxied = connections(keychain(), "anthropic/claude-sonnet-4-5", "anthropic/claude-haiku-4-5", "http://127.0.0.1:9")
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        proxied.check(["anthropic/claude-sonnet-4-5"], unknown=_never)


def test_local_and_credential_chain_providers_are_not_asked_for_keys() -> None:
    built = connections(keychain(), "ollama_chat/qwen3", "bedrock/anthropic.claude-3")
    built.check(["ollama_chat/qwen3", "bedrock/anthropic.claude-3"], unknown=_never)
    assert built.get("ollama_chat/qwen3").call_options() == {}


def test_a_server_without_a_default_host_needs_its_base() -> None:
    built = connections(keychain(), "hosted_vllm/qwen", "hosted_vllm/qwen")
    with pytest.raises(ConfigError, match="set HOSTED_VLLM_API_BASE"):
        built.check(["hosted_vllm/qwen"], unknown=_never)
    connections(keychain({"HOSTED_VLLM_API_BASE": LOCAL}), "hosted_vllm/qwen", "hosted_vllm/qwen").check(["hosted_vllm/qwen"], unknown=_never)


def test_other_providers_are_checked_by_the_fallback_with_their_own_base() -> None:
    seen: list[tuple[str, str | None]] = []
    connections(keychain(), "cohere/command-r", "cohere/command-r-plus", "http://x").check(
        ["cohere/command-r", "cohere/command-r-plus"], unknown=lambda model, base: seen.append((model, base)),
    )
    assert seen == [("cohere/command-r", "http://x"), ("cohere/command-r-plus", "http://x")]


def test_the_usual_keys_are_checked_without_importing_litellm(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from rlm_cli.llm import LLMClient\n"
        "from rlm_cli.settings import Settings\n"
        "from rlm_cli.errors import ConfigError\n"
        "client = LLMClient.from_settings(Settings(model='openai/root', sub_model='anthropic/claude-haiku-4-5', api_base='http://127.0.0.1:9/v1'))\n"
        "try:\n    client.check_keys(['openai/root', 'anthropic/claude-haiku-4-5'])\n"
        "except ConfigError as error:\n    print(error.message)\n"
        "print('litellm' in sys.modules)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": str(tmp_path), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.splitlines() == ["missing API key for anthropic/claude-haiku-4-5: set ANTHROPIC_API_KEY", "False"]


def test_keys_are_found_in_the_environment_then_dotenv_then_the_keys_file() -> None:
    anthropic = PROVIDERS["anthropic"]
    stored = {"anthropic": "from-file"}
    assert keychain(stored=stored).find(anthropic) == _found("from-file", "ANTHROPIC_API_KEY", KEYS_FILE)
    assert keychain(dotenv={"ANTHROPIC_API_KEY": "from-dotenv"}, stored=stored).find(anthropic) == _found("from-dotenv", "ANTHROPIC_API_KEY", DOTENV)
    both = keychain({"ANTHROPIC_API_KEY": "from-env"}, {"ANTHROPIC_API_KEY": "from-dotenv"}, stored)
    assert both.find(anthropic) == _found("from-env", "ANTHROPIC_API_KEY", ENV)
    assert keychain({"GOOGLE_API_KEY": "g"}).find(PROVIDERS["gemini"]) == _found("g", "GOOGLE_API_KEY", ENV)
    assert keychain({"ANTHROPIC_API_KEY": ""}).find(anthropic) is None


def test_the_keys_file_is_written_atomically_with_mode_0600(isolated_env: Path) -> None:
    path = keys_path()
    assert path == isolated_env / "config" / "rlm" / "keys.json"
    write_stored({"openai": "sk-1"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_stored() == {"openai": "sk-1"}
    assert [p.name for p in path.parent.iterdir()] == ["keys.json"]  # no temporary file left
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ConfigError, match="not an object"):
        read_stored()


def test_keys_are_stored_only_for_providers_that_take_one() -> None:
    assert provider_named("openrouter").key_var == "OPENROUTER_API_KEY"
    with pytest.raises(InputError, match="takes no API key: it uses the AWS credential chain"):
        provider_named("bedrock")
    with pytest.raises(InputError) as raised:
        provider_named("gemeni")
    assert raised.value.hint == "did you mean gemini?"


def _never(model: str, api_base: str | None) -> None:
    raise AssertionError(f"LiteLLM was asked about {model}")


def _found(value: str, variable: str, origin: str) -> FoundKey:
    return FoundKey(value, variable, origin)
