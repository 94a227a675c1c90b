"""Settings precedence (flag > env > config file > default), coercion and config-file errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlm_cli.errors import ConfigError
from rlm_cli.settings import config_path, resolve


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


def test_config_path_follows_xdg(tmp_path: Path) -> None:
    assert config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "rlm" / "config.toml"


def test_a_zero_timeout_is_refused_rather_than_meaning_no_limit(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="timeout must be more than 0"):
        resolve({}, env={"RLM_TIMEOUT": "0"}, path=tmp_path / "none")
