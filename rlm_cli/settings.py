"""Settings with one precedence everywhere: flag > RLM_* environment > config file > default.

The `Settings` fields are the one table of settings: their types drive coercion, their metadata
the help, `rlm config --help` and the README. Owns the config file's location and reading
(writing is config_file.py). Must not import typer, rich or litellm.
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NewType, Union, get_args, get_origin, get_type_hints

from rlm_cli.errors import ConfigError
from rlm_cli.modes import ProgressMode, SandboxMode
from rlm_cli.units import format_size, parse_size

Bytes = NewType("Bytes", int)  # a byte count, written like 50M
ModelOptions = dict[str, Any]  # model option -> JSON scalar, passed through to the provider
RouterSource = NewType("RouterSource", object)  # a model_list file's path, or the config file's [router] table
# Set by rlm itself on every model call: an option of these names would break the run.
RESERVED_OPTIONS = frozenset({"model", "messages", "tools", "stream", "timeout", "max_retries", "n"})


def _doc(help: str, **rule: Any) -> dict[str, Any]:
    """A setting's metadata: one line of help, and an optional rule (`minimum`: at least,
    `above`: more than, `example`: shown in the accepted form)."""
    return {"help": help, **rule}


@dataclass(frozen=True)
class Settings:
    """Everything a run can be tuned by. Field names are the config-file keys."""

    model: str = field(default="gpt-5-mini", metadata=_doc("Root model, any LiteLLM model string (e.g. openai/gpt-5-mini, ollama_chat/qwen3)."))
    sub_model: str | None = field(default=None, metadata=_doc("Model for sub-calls (default: the root model).", example="openai/gpt-5-nano"))
    api_base: str | None = field(default=None, metadata=_doc("Base URL of the root model's server (and the sub-model's, when the same provider).", example="http://127.0.0.1:8000/v1"))
    sub_api_base: str | None = field(default=None, metadata=_doc("Base URL of the sub-model's server.", example="http://127.0.0.1:8001/v1"))
    system: str | None = field(default=None, metadata=_doc("An extra instruction appended to the root model's system prompt.", example="Answer in French."))
    router: RouterSource | None = field(default=None, metadata=_doc("Deployments for LiteLLM's Router: a model_list file (YAML or JSON, as the LiteLLM proxy reads), or a [router] table in the config file.", example="router.yaml"))
    options: ModelOptions = field(default_factory=dict, metadata=_doc("Model options passed to every model call (temperature, reasoning_effort, max_tokens, top_p...).", example="temperature=0.2"))
    dotenv: bool = field(default=True, metadata=_doc("Read API keys from ./.env too."))
    depth: int = field(default=1, metadata=_doc("Recursion depth: 1 means sub-calls are plain model calls; 2 lets rlm_query start child RLMs.", minimum=1))
    max_iterations: int = field(default=30, metadata=_doc("Root-model turns at most.", minimum=1))
    max_cost: float | None = field(default=None, metadata=_doc("Spend at most this many USD (needs a priced model).", minimum=0, example="0.50"))
    max_sub_calls: int | None = field(default=None, metadata=_doc("Sub-LLM calls at most.", minimum=0, example="100"))
    max_tokens: int | None = field(default=None, metadata=_doc("Tokens (root + sub, prompt + completion) at most.", minimum=1, example="200000"))
    timeout: float | None = field(default=None, metadata=_doc("Wall-clock seconds at most for the whole run (leave it out for no limit).", above=0, example="600"))
    concurrency: int = field(default=8, metadata=_doc("Sub-calls in flight at most, across the whole run.", minimum=1))
    cell_timeout: float = field(default=120.0, metadata=_doc("Seconds one REPL cell may run.", minimum=0.1))
    request_timeout: float = field(default=600.0, metadata=_doc("Seconds one model call may take at most, its retries included.", above=0))
    max_retries: int = field(default=6, metadata=_doc("Retries of a model call on transient failures.", minimum=0))
    max_output_tokens: int = field(default=8192, metadata=_doc("The output cap every model call is sent with.", minimum=1))
    retry_base_delay: float = field(default=1.0, metadata=_doc("Seconds before the first retry (doubling after).", minimum=0))
    sandbox: SandboxMode = field(default="auto", metadata=_doc("Isolation of the REPL (none: for debugging only)."))
    allow_net: bool = field(default=False, metadata=_doc("Let the REPL open network connections."))
    allow_write: tuple[str, ...] = field(default=(), metadata=_doc("Paths the REPL may write under.", example="/tmp/rlm-out"))
    include: tuple[str, ...] = field(default=(), metadata=_doc("Only files matching these globs in directory walks.", example="*.py, *.md"))
    exclude: tuple[str, ...] = field(default=(), metadata=_doc("Skip files matching these globs in directory walks.", example="*.log, build/**"))
    gitignore: bool = field(default=True, metadata=_doc("Honour .gitignore files in directory walks."))
    follow_links: bool = field(default=False, metadata=_doc("Follow links that lead out of a directory being walked."))
    max_file_size: Bytes = field(default=Bytes(50 * 1024**2), metadata=_doc("Skip larger files in directory walks (files named explicitly are always read).", minimum=1))
    git_ref: str | None = field(default=None, metadata=_doc("Branch, tag or full commit hash to clone from git URL sources (default: the remote's HEAD).", example="v1.2.0"))
    max_stdin: Bytes = field(default=Bytes(64 * 1024**3), metadata=_doc("Bytes of stdin spooled at most.", minimum=1))
    pdf_timeout: float = field(default=60.0, metadata=_doc("Seconds to parse one PDF.", above=0))
    pdf_memory: Bytes = field(default=Bytes(1024**3), metadata=_doc("Heap the PDF parser may use.", minimum=1))
    output_limit: int = field(default=20_000, metadata=_doc("Characters of one cell's output shown to the model.", minimum=1))
    root_context_window: int = field(default=128_000, metadata=_doc("The root model's window in tokens when LiteLLM does not know it.", minimum=1))
    sub_context_window: int = field(default=128_000, metadata=_doc("The sub-model's window in tokens when LiteLLM does not know it.", minimum=1))
    progress: ProgressMode = field(default="auto", metadata=_doc("How progress is drawn on stderr; auto is the tree on a colour terminal, plain lines otherwise."))
    cite: bool = field(default=True, metadata=_doc("Ask the model for citations and check them against the input before printing."))
    trace: bool = field(default=True, metadata=_doc("Record each run in the state directory."))
    state_dir: str | None = field(default=None, metadata=_doc("Where runs are recorded (default: the platform's state directory, $XDG_STATE_HOME/rlm on Linux).", example="/var/tmp/rlm"))
    cache: bool = field(default=True, metadata=_doc("Answer a sub-call asked before (same model, messages, tools, options and API base) from the response cache, and skip reading input files unchanged since an earlier run."))
    cache_size: Bytes = field(default=Bytes(512 * 1024**2), metadata=_doc("The response cache's size on disk at most; the least recently used replies go first.", minimum=1))
    cache_dir: str | None = field(default=None, metadata=_doc("Where the response cache lives (default: the platform's cache directory, $XDG_CACHE_HOME/rlm on Linux).", example="/var/tmp/rlm-cache"))
    snapshots_size: Bytes = field(default=Bytes(1024**3), metadata=_doc("The REPL variables kept for follow-ups, over all runs, at most; the oldest runs' go first (the newest run's always stays).", minimum=1))
    warm: float = field(default=300.0, metadata=_doc("Seconds a process with LiteLLM loaded stays after a run, for the next `rlm ask` (a follow-up with -c) to start at once; by default only after runs on a terminal, after any run when set; 0: none.", minimum=0))

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


@dataclass(frozen=True)
class SettingInfo:
    """One row of the table of settings, as the docs show it."""

    name: str
    key: str  # as written in the config file and on the command line: max-cost
    env_var: str
    default: str
    form: str  # what values are accepted, e.g. "a number like 0.50, at least 0"
    help: str
    example: str  # a value to show: the default, else a typical one


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
_TYPES = get_type_hints(Settings)


def config_path() -> Path:
    """Where the config file lives: the platform's config directory ($XDG_CONFIG_HOME/rlm on Linux)."""
    from platformdirs import user_config_path

    return user_config_path("rlm", appauthor=False) / "config.toml"


def state_dir(settings: Settings) -> Path:
    """Where runs are recorded: the platform's state directory ($XDG_STATE_HOME/rlm on Linux)."""
    if settings.state_dir:
        return Path(settings.state_dir)
    from platformdirs import user_state_path

    return user_state_path("rlm", appauthor=False)


def cache_dir(settings: Settings) -> Path:
    """Where the response cache lives: the platform's cache directory ($XDG_CACHE_HOME/rlm on Linux)."""
    if settings.cache_dir:
        return Path(settings.cache_dir)
    from platformdirs import user_cache_path

    return user_cache_path("rlm", appauthor=False)


def env_var_name(name: str) -> str:
    """The environment variable for a setting: `max_cost` -> `RLM_MAX_COST`."""
    return "RLM_" + name.upper()


def setting_name(key: str) -> str:
    """`max-cost` or `max_cost` -> `max_cost`; ConfigError for a key that is no setting."""
    name = key.replace("-", "_")
    if name not in _FIELDS:
        raise ConfigError(f"unknown setting {key!r}", hint="`rlm config --help` lists the settings")
    return name


def resolve(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    path: Path | None = None,
) -> ResolvedSettings:
    """Merge the layers. `flags` holds only options the user gave (None means not given)."""
    env = os.environ if env is None else env
    path = config_path() if path is None else path
    given = {name: value for name, value in (flags or {}).items() if value is not None}
    layers: list[tuple[str, dict[str, Any]]] = [
        ("flag", {name: coerce(name, value, f"--{name.replace('_', '-')}") for name, value in given.items() if name in _FIELDS}),
        ("env", _from_env(env)),
        ("config", read_config(path)),
    ]
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name in _FIELDS:
        origins[name] = "default"
        for origin, layer in reversed(layers):
            if name in layer:
                # Model options add up key by key across the layers; anything else is replaced.
                values[name] = {**values.get(name, {}), **layer[name]} if name == "options" else layer[name]
                origins[name] = origin
    settings = Settings(**values)
    if not settings.model:
        raise ConfigError("no model set", hint="pass --model or set RLM_MODEL")
    return ResolvedSettings(settings, origins, path if path.exists() else None)


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in _FIELDS:
        variable = env_var_name(name)
        raw = env.get(variable)
        if raw:
            hint = f"{variable} sets the {name.replace('_', '-')} setting: fix or unset it"
            found[name] = coerce(name, raw, variable, hint=hint)
    return found


def read_config(path: Path) -> dict[str, Any]:
    """The settings in a config file, coerced; {} when there is no file."""
    import tomllib

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file {path}: {error}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"malformed config file {path}: {error}", hint="`rlm config edit` opens it") from None
    found: dict[str, Any] = {}
    hint = f"fix it in {path} (`rlm config edit`); `rlm config --help` lists the settings"
    for key, raw in data.items():
        try:
            name = setting_name(key)
        except ConfigError:
            raise ConfigError(f"unknown setting {key!r} in config file {path}", hint=hint) from None
        found[name] = coerce(name, raw, f"config {key}", hint=hint)
    return found


def coerce(name: str, raw: Any, where: str, *, hint: str | None = None) -> Any:
    """A value from a flag, the environment (a string) or TOML, as the setting's type.

    ConfigError: "`where`: expected <the accepted form>, got <raw>".
    """
    convert, _ = _converter(name)
    try:
        value = convert(raw)
        _check_range(name, value)
    except (ValueError, TypeError):
        raise ConfigError(f"{where}: expected {accepted_form(name)}, got {raw!r}", hint=hint) from None
    return value


def _converter(name: str) -> tuple[Callable[[Any], Any], str]:
    kind = _TYPES[name]
    if get_origin(kind) in (Union, types.UnionType):  # X | None: the environment and TOML give X
        kind = next(arg for arg in get_args(kind) if arg is not type(None))
    if get_origin(kind) is Literal:
        choices: tuple[str, ...] = get_args(kind)
        return _choice(choices), "one of " + ", ".join(choices)
    return _CONVERTERS[kind]


def accepted_form(name: str) -> str:
    """What a setting accepts, in words: "a number like 0.50, at least 0"."""
    _, form = _converter(name)
    rule = _FIELDS[name].metadata
    example = rule.get("example") or _FIELDS[name].default
    if form in ("a whole number", "a number") and example is not None:
        form += f" like {example}"
    if "minimum" in rule:
        form += f", at least {rule['minimum']:g}"
    if "above" in rule:
        form += f", more than {rule['above']:g}"
    return form


def _check_range(name: str, value: Any) -> None:
    rule = _FIELDS[name].metadata
    if "minimum" in rule and value < rule["minimum"]:
        raise ValueError(name)
    if "above" in rule and value <= rule["above"]:
        raise ValueError(name)


_BOOLS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _to_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    word = raw.strip().lower() if isinstance(raw, str) else None
    if word not in _BOOLS:
        raise ValueError(raw)
    return _BOOLS[word]


def _to_int(raw: Any) -> int:
    if isinstance(raw, bool | float):
        raise ValueError(raw)
    return int(raw)


def _to_float(raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError(raw)
    return float(raw)


def _to_str(raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValueError(raw)
    return raw


def _to_size(raw: Any) -> Bytes:
    if isinstance(raw, bool):
        raise ValueError(raw)
    return Bytes(raw if isinstance(raw, int) else parse_size(str(raw)))


def _to_strings(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if isinstance(raw, list | tuple) and all(isinstance(item, str) for item in raw):
        return tuple(raw)
    raise ValueError(raw)


def _to_options(raw: Any) -> ModelOptions:
    options = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(options, Mapping) or not all(isinstance(key, str) and key for key in options):
        raise ValueError(raw)
    if any(isinstance(value, dict | list) for value in options.values()) or RESERVED_OPTIONS & set(options):
        raise ValueError(raw)
    return dict(options)


def _to_router(raw: Any) -> RouterSource:
    """A file's path as given, or a table (its content is checked by deployments.py when used)."""
    if isinstance(raw, str) and raw.strip():
        return RouterSource(raw)
    if isinstance(raw, Mapping):
        return RouterSource(dict(raw))
    raise ValueError(raw)


def _choice(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def convert(raw: Any) -> str:
        if raw not in choices:
            raise ValueError(raw)
        return str(raw)

    return convert


_CONVERTERS: dict[Any, tuple[Callable[[Any], Any], str]] = {
    bool: (_to_bool, "true or false"),
    int: (_to_int, "a whole number"),
    float: (_to_float, "a number"),
    str: (_to_str, "text"),
    Bytes: (_to_size, "a size like 50M (K, M, G, T: binary units) or a number of bytes"),
    tuple[str, ...]: (_to_strings, 'a list of strings like ["*.log", "build/**"] (comma-separated in the environment)'),
    RouterSource: (_to_router, "the path of a model_list file (YAML or JSON), or a [router] table in the config file"),
    ModelOptions: (_to_options, "a table of model options like {temperature = 0.2} (a JSON object in the environment)"),
}


def parse_option_value(text: str) -> Any:
    """A `-o KEY VALUE` value: a JSON scalar where it parses as one (0.2, true, null), else the text."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return text if isinstance(value, dict | list) else value


def shown(name: str, value: Any) -> str:
    """A setting's value as people write it: 50M, true, *.log, build/** ("" for none)."""
    if value is None:
        return ""
    if _TYPES[name] is Bytes:
        return format_size(value)
    if isinstance(value, tuple):
        return ", ".join(value)
    if name == "router" and isinstance(value, dict):
        return "the [router] table of the config file"
    if isinstance(value, dict):
        return ", ".join(f"{key}={item}" for key, item in value.items())
    return str(value).lower() if isinstance(value, bool) else str(value)


def file_value(name: str, value: Any) -> Any:
    """A coerced value as the config file stores it: sizes as people write them (50M), lists."""
    if _TYPES[name] is Bytes:
        return format_size(value)
    return list(value) if isinstance(value, tuple) else value


def table() -> list[SettingInfo]:
    """The table of settings, in field order."""
    defaults = Settings()
    return [
        SettingInfo(
            name=name, key=name.replace("_", "-"), env_var=env_var_name(name),
            default=shown(name, getattr(defaults, name)), form=accepted_form(name), help=spec.metadata["help"],
            example=shown(name, getattr(defaults, name)) or spec.metadata.get("example", ""),
        )
        for name, spec in _FIELDS.items()
    ]


def describe(resolved: ResolvedSettings) -> list[tuple[str, Any, str]]:
    """(name, value, origin) rows for `rlm config show`."""
    return [
        (name, getattr(resolved.settings, name), resolved.origins[name]) for name in _FIELDS
    ]
