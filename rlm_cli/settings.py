"""Settings with one precedence everywhere: flag > RLM_* environment > config file > default.

Owns the config file location and format (TOML). Must not import typer, rich or litellm.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlm_cli.errors import ConfigError

SANDBOX_MODES = ("auto", "bwrap", "process", "none")
PROGRESS_MODES = ("auto", "tree", "plain", "none")


@dataclass(frozen=True)
class Settings:
    """Everything a run can be tuned by. Field names are the config-file keys."""

    model: str = "gpt-5-mini"
    sub_model: str | None = None  # None: the same as `model`
    api_base: str | None = None  # the root model's server (and the sub-model's, when the same provider)
    sub_api_base: str | None = None
    dotenv: bool = True  # read keys from ./.env too
    depth: int = 1
    max_iterations: int = 30
    max_cost: float | None = None
    max_sub_calls: int | None = None
    max_tokens: int | None = None
    timeout: float | None = None
    concurrency: int = 8
    cell_timeout: float = 120.0
    request_timeout: float = 600.0  # one model call at most, its retries included
    max_retries: int = 6
    max_output_tokens: int = 8192  # the output cap every model call is sent with (see llm.py)
    retry_base_delay: float = 1.0
    sandbox: str = "auto"
    allow_net: bool = False
    allow_write: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    gitignore: bool = True
    follow_links: bool = False
    max_file_size: int = 50 * 1024 * 1024
    max_stdin: int = 64 * 1024**3  # bytes of stdin spooled at most
    pdf_timeout: float = 60.0  # seconds to parse one PDF
    pdf_memory: int = 1024**3  # bytes of heap the PDF parser may use
    output_limit: int = 20_000
    root_context_window: int = 128_000
    sub_context_window: int = 128_000
    progress: str = "auto"
    cite: bool = True  # ask for citations and check them against the input before printing
    trace: bool = True
    state_dir: str | None = None

    @property
    def effective_sub_model(self) -> str:
        """The model sub-calls use."""
        return self.sub_model or self.model


@dataclass(frozen=True)
class ResolvedSettings:
    """Settings plus where each value came from ("flag", "env", "config", "default")."""

    settings: Settings
    origins: dict[str, str] = field(default_factory=dict)
    config_path: Path | None = None


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """Where the config file lives: $XDG_CONFIG_HOME/rlm/config.toml (~/.config by default)."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "rlm" / "config.toml"


def state_dir(settings: Settings, env: Mapping[str, str] | None = None) -> Path:
    """Where runs are recorded: $XDG_STATE_HOME/rlm (~/.local/state by default)."""
    if settings.state_dir:
        return Path(settings.state_dir)
    env = os.environ if env is None else env
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "rlm"


def env_var_name(name: str) -> str:
    """The environment variable for a setting: `max_cost` -> `RLM_MAX_COST`."""
    return "RLM_" + name.upper()


def resolve(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    path: Path | None = None,
) -> ResolvedSettings:
    """Merge the layers. `flags` holds only options the user gave (None means not given)."""
    env = os.environ if env is None else env
    path = config_path(env) if path is None else path
    layers: list[tuple[str, dict[str, Any]]] = [
        ("flag", {k: v for k, v in (flags or {}).items() if v is not None}),
        ("env", _from_env(env)),
        ("config", _from_file(path)),
    ]
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name in _FIELDS:
        origins[name] = "default"
        for origin, layer in layers:
            if name in layer:
                values[name] = layer[name]
                origins[name] = origin
                break
    settings = Settings(**values)
    _validate(settings)
    return ResolvedSettings(settings, origins, path if path.exists() else None)


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in _FIELDS:
        raw = env.get(env_var_name(name))
        if raw is None or raw == "":
            continue
        found[name] = _coerce(name, raw, f"environment variable {env_var_name(name)}")
    return found


def _from_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file {path}: {error}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"malformed config file {path}: {error}") from None
    found: dict[str, Any] = {}
    for key, raw in data.items():
        name = key.replace("-", "_")
        if name not in _FIELDS:
            raise ConfigError(
                f"unknown setting {key!r} in config file {path}",
                hint="run `rlm config show` to see the settings there are",
            )
        found[name] = _coerce(name, raw, f"{key!r} in config file {path}")
    return found


def _coerce(name: str, raw: Any, where: str) -> Any:
    """Turn a string (env) or TOML value into the field's type; ConfigError names `where`."""
    kind = str(_FIELDS[name].type)
    try:
        if "tuple" in kind:
            if isinstance(raw, str):
                return tuple(part.strip() for part in raw.split(",") if part.strip())
            if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
                return tuple(raw)
            raise ValueError("expected a list of strings")
        if kind.startswith("bool"):
            return _to_bool(raw)
        if kind.startswith("int"):
            if isinstance(raw, bool):
                raise ValueError("expected a whole number")
            return int(raw)
        if kind.startswith("float"):
            if isinstance(raw, bool):
                raise ValueError("expected a number")
            return float(raw)
        if not isinstance(raw, str):
            raise ValueError("expected a string")
        return raw
    except ValueError as error:
        raise ConfigError(f"bad value {raw!r} for {where}: {error}") from None


def _to_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _validate(settings: Settings) -> None:
    if settings.sandbox not in SANDBOX_MODES:
        raise ConfigError(f"sandbox must be one of {', '.join(SANDBOX_MODES)}, not {settings.sandbox!r}")
    if settings.progress not in PROGRESS_MODES:
        raise ConfigError(f"progress must be one of {', '.join(PROGRESS_MODES)}, not {settings.progress!r}")
    for name in ("depth", "max_iterations", "concurrency", "max_stdin", "pdf_memory", "max_output_tokens"):
        if getattr(settings, name) < 1:
            raise ConfigError(f"{name.replace('_', '-')} must be at least 1")
    if settings.pdf_timeout <= 0:
        raise ConfigError("pdf-timeout must be more than 0 seconds")
    if settings.timeout is not None and settings.timeout <= 0:
        raise ConfigError("timeout must be more than 0 seconds (leave it out for no limit)")
    if not settings.model:
        raise ConfigError("no model set", hint="pass --model or set RLM_MODEL")


def describe(resolved: ResolvedSettings) -> list[tuple[str, Any, str]]:
    """(name, value, origin) rows for `rlm config show`."""
    return [
        (name, getattr(resolved.settings, name), resolved.origins[name]) for name in _FIELDS
    ]
