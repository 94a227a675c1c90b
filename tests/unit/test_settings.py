"""Settings precedence (flag > env > config file > default), coercion and config-file errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlm_cli.errors import ConfigError
from rlm_cli.settings import config_path, parse_option_value, resolve, table


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_when_nothing_is_set(tmp_path: Path) -> None:
    resolved = resolve({}, env={}, path=tmp_path / "missing.toml")
    settings = resolved.settings
    assert (settings.model, settings.effective_sub_model, settings.depth) == ("gpt-5-mini", "gpt-5-mini", 1)
    assert (settings.max_iterations, settings.concurrency) == (30, 8)
    assert set(resolved.origins.values()) == {"default"}
    assert resolved.config_path is None


def test_config_file_beats_default(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'model = "anthropic/claude-sonnet-4-5"\nmax-iterations = 12\n')
    resolved = resolve({}, env={}, path=path)
    assert resolved.settings.model == "anthropic/claude-sonnet-4-5"
    assert resolved.settings.max_iterations == 12
    assert resolved.origins["model"] == "config"
    assert resolved.config_path == path


def test_env_beats_config_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'model = "from-config"\nconcurrency = 3\n')
    resolved = resolve({}, env={"RLM_MODEL": "from-env", "RLM_CONCURRENCY": "5"}, path=path)
    assert resolved.settings.model == "from-env"
    assert resolved.settings.concurrency == 5
    assert resolved.origins["model"] == resolved.origins["concurrency"] == "env"


def test_flag_beats_env_and_config(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'model = "from-config"\n')
    resolved = resolve({"model": "from-flag", "depth": None}, env={"RLM_MODEL": "from-env"}, path=path)
    assert resolved.settings.model == "from-flag"
    assert resolved.origins["model"] == "flag"
    assert resolved.origins["depth"] == "default"  # None means the flag was not given


def test_sub_model_follows_model_unless_set(tmp_path: Path) -> None:
    settings = resolve({"model": "openai/a"}, env={}, path=tmp_path / "none").settings
    assert settings.effective_sub_model == "openai/a"
    settings = resolve({"model": "openai/a", "sub_model": "openai/b"}, env={}, path=tmp_path / "none").settings
    assert settings.effective_sub_model == "openai/b"


def test_env_values_are_coerced(tmp_path: Path) -> None:
    env = {"RLM_MAX_COST": "0.5", "RLM_GITIGNORE": "false", "RLM_EXCLUDE": "*.log, build/**"}
    settings = resolve({}, env=env, path=tmp_path / "none").settings
    assert settings.max_cost == 0.5
    assert settings.gitignore is False
    assert settings.exclude == ("*.log", "build/**")


def test_malformed_config_names_file_and_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'model = "ok"\nconcurrency = = 3\n')
    with pytest.raises(ConfigError) as caught:
        resolve({}, env={}, path=path)
    assert str(path) in caught.value.message
    assert "line 2" in caught.value.message


def test_unknown_key_and_bad_type_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown setting 'modle'"):
        resolve({}, env={}, path=write_config(tmp_path, 'modle = "x"\n'))
    with pytest.raises(ConfigError, match="concurrency"):
        resolve({}, env={}, path=write_config(tmp_path, 'concurrency = "many"\n'))
    with pytest.raises(ConfigError, match="RLM_DEPTH"):
        resolve({}, env={"RLM_DEPTH": "deep"}, path=tmp_path / "none")


def test_config_path_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config_path() == tmp_path / "rlm" / "config.toml"


def test_a_zero_timeout_is_refused_rather_than_meaning_no_limit(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"RLM_TIMEOUT: expected a number like 600, more than 0, got '0'"):
        resolve({}, env={"RLM_TIMEOUT": "0"}, path=tmp_path / "none")


def test_a_bad_config_value_names_the_setting_the_accepted_form_and_the_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'max_cost = "abc"\n')
    with pytest.raises(ConfigError) as caught:
        resolve({}, env={}, path=path)
    assert caught.value.message == "config max_cost: expected a number like 0.50, at least 0, got 'abc'"
    assert caught.value.hint is not None and str(path) in caught.value.hint and "rlm config edit" in caught.value.hint


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RLM_DEPTH": "0"}, "RLM_DEPTH: expected a whole number like 1, at least 1, got '0'"),
        ({"RLM_GITIGNORE": "maybe"}, "RLM_GITIGNORE: expected true or false, got 'maybe'"),
        ({"RLM_SANDBOX": "docker"}, "RLM_SANDBOX: expected one of auto, bwrap, process, none, got 'docker'"),
        ({"RLM_MAX_FILE_SIZE": "50 apples"}, "RLM_MAX_FILE_SIZE: expected a size like 50M (K, M, G, T: binary units) or a number of bytes, at least 1, got '50 apples'"),
        ({"RLM_OPTIONS": "[1]"}, "RLM_OPTIONS: expected a table of model options like {temperature = 0.2} (a JSON object in the environment), got '[1]'"),
    ],
)
def test_bad_environment_values_say_what_is_accepted(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve({}, env=env, path=tmp_path / "none")
    assert caught.value.message == message
    assert caught.value.hint is not None and "fix or unset it" in caught.value.hint


def test_sizes_take_binary_units_everywhere(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'max-file-size = "512K"\npdf-memory = 2048\n')
    settings = resolve({}, env={"RLM_MAX_STDIN": "2G"}, path=path).settings
    assert (settings.max_file_size, settings.pdf_memory, settings.max_stdin) == (512 * 1024, 2048, 2 * 1024**3)
    assert resolve({"max_file_size": "50M"}, env={}, path=path).settings.max_file_size == 50 * 1024**2


def test_model_options_add_up_across_layers_key_by_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[options]\ntemperature = 0.2\ntop_p = 0.9\n')
    resolved = resolve({"options": {"temperature": 0.7}}, env={"RLM_OPTIONS": '{"reasoning_effort": "low"}'}, path=path)
    assert resolved.settings.options == {"temperature": 0.7, "top_p": 0.9, "reasoning_effort": "low"}
    assert resolved.origins["options"] == "flag"


def test_options_rlm_sets_itself_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config options"):
        resolve({}, env={}, path=write_config(tmp_path, '[options]\nmodel = "x"\n'))


@pytest.mark.parametrize(
    ("text", "value"),
    [("0.2", 0.2), ("1024", 1024), ("true", True), ("null", None), ("high", "high"), ('"7"', "7"), ("[1, 2]", "[1, 2]")],
)
def test_option_values_are_json_scalars_where_they_parse(text: str, value: object) -> None:
    assert parse_option_value(text) == value


def test_every_setting_has_help_an_accepted_form_and_an_env_var() -> None:
    rows = table()
    assert {row.name for row in rows} >= {"model", "system", "options", "max_file_size", "sandbox"}
    for row in rows:
        assert row.help.endswith(".") and row.form and row.env_var == "RLM_" + row.name.upper()
    assert {row.name: row.default for row in rows}["max_file_size"] == "50M"
