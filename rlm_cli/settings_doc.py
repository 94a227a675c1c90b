"""The table of settings as text: the list in `rlm config --help` and the README's section.

Imports only settings; loaded when `rlm config --help` is shown, not by every `rlm` command.
"""

from __future__ import annotations

from rlm_cli.settings import table


def config_epilog() -> str:
    """Every setting, for `rlm config --help` (Rich markup, brackets escaped)."""
    lines = [
        "[bold]Settings[/bold] (config file key, environment variable): what it does; what it accepts; "
        "its default. Flags win over the environment, the environment over the config file.",
        "",
    ]
    for row in table():
        default = f"; default {row.default}" if row.default else ""
        text = f"{row.help} Accepts {row.form}{default}.".replace("[", "\\[")  # not Rich markup
        lines.append(f"[bold]{row.key}[/bold] ({row.env_var}): {text}")
    return "\n".join(lines)


def markdown() -> str:
    """The README's table of settings."""
    rows = [
        "| setting | environment | default | accepts | what it does |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in table():
        cells = (f"`{row.key}`", f"`{row.env_var}`", f"`{row.default}`" if row.default else "", row.form, row.help)
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows)

