"""Writing the config file: `rlm config set` (tomlkit keeps the other keys and the comments) and
`rlm config edit` (the user's editor on the file, a commented template when it is new).

Every write is checked by reading it back as a run would. Must not import typer, rich or litellm.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

from rlm_cli.errors import ConfigError
from rlm_cli.settings import (
    coerce,
    file_value,
    parse_option_value,
    read_config,
    setting_name,
    table,
)

OPTIONS_PREFIX = "options."  # `rlm config set options.temperature 0.2`


def set_value(path: Path, key: str, text: str) -> str:
    """Set one setting in the file from its command-line spelling; returns what was written
    (`max-cost = 0.5`)."""
    import tomlkit

    document = _load(path)
    hint = "`rlm config --help` lists the settings and what each accepts"
    if key.startswith(OPTIONS_PREFIX) and key != OPTIONS_PREFIX:
        option, written = key.removeprefix(OPTIONS_PREFIX), parse_option_value(text)
        if written is None:
            raise ConfigError(f"config {key}: expected a number, true or false, or text, got 'null' (TOML has no null)", hint=hint)
        coerce("options", {option: written}, f"config {key}", hint=hint)
        document.setdefault("options", tomlkit.table())[option] = written
    else:
        name = setting_name(key)
        written = file_value(name, coerce(name, text, f"config {key}", hint=hint))
        key = next((k for k in document if k.replace("-", "_") == name), name.replace("_", "-"))
        document[key] = written
    _write_checked(path, tomlkit.dumps(document))
    return f"{key} = {tomlkit.item(written).as_string()}"


def edit(path: Path) -> None:
    """Open the file in $VISUAL / $EDITOR (vi when neither is set), creating it from the template
    when missing; ConfigError when what was saved is not valid."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template(), encoding="utf-8")
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        done = subprocess.run([*shlex.split(editor), str(path)], check=False)
    except OSError as error:
        raise ConfigError(f"cannot start the editor {editor!r}: {error}", hint="set $VISUAL or $EDITOR") from None
    if done.returncode != 0:
        raise ConfigError(f"the editor {editor!r} exited with status {done.returncode}; {path} is as it saved it")
    read_config(path)


def template() -> str:
    """A config file with every setting commented out: its help, what it accepts, its default."""
    lines = [
        "# rlm settings. Flags win over RLM_* environment variables, which win over this file.",
        "# Uncomment a line to set it; `rlm config --help` describes every setting.",
        "",
    ]
    tables: list[str] = []
    for row in table():
        if row.name == "options":  # a TOML table: it must come after every plain key
            tables += [f"# {row.help}", "# [options]", "# temperature = 0.2", '# reasoning_effort = "low"']
            continue
        lines += [f"# {row.help} Accepts {row.form}.", f"# {row.key} = {_toml_literal(row.name, row.example)}", ""]
    return "\n".join(lines + tables).rstrip() + "\n"


def _toml_literal(name: str, text: str) -> str:
    """A setting's value, written as people write it, in TOML."""
    import tomlkit

    return str(tomlkit.item(file_value(name, coerce(name, text, name))).as_string())


def _load(path: Path) -> Any:
    import tomlkit

    read_config(path)  # a file that is already broken is reported as such, not overwritten
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error}") from None


def _write_checked(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file, after checking it reads back as settings."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(path.name + ".new")
    scratch.write_text(text, encoding="utf-8")
    try:
        read_config(scratch)
    except ConfigError:
        scratch.unlink()
        raise
    os.replace(scratch, path)
