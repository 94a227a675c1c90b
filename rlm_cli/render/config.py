"""`rlm config show`: the effective settings as a table or JSON."""

from __future__ import annotations

import json
import sys

from rlm_cli.settings import ResolvedSettings, describe, env_var_name, shown


def print_settings(resolved: ResolvedSettings, *, as_json: bool) -> None:
    """Print each setting, its value and where it came from."""
    rows = describe(resolved)
    if as_json:
        payload = {
            "config_file": str(resolved.config_path) if resolved.config_path else None,
            "settings": {name: {"value": value, "origin": origin} for name, value, origin in rows},
        }
        sys.stdout.write(json.dumps(payload, indent=2, default=list) + "\n")
        return
    from rich.table import Table

    from rlm_cli.render.consoles import stdout_console

    table = Table(title="rlm settings", title_justify="left", show_edge=False)
    for column in ("setting", "value", "from", "env var"):
        table.add_column(column)
    for name, value, origin in rows:
        table.add_row(name.replace("_", "-"), "None" if value is None else shown(name, value), origin, env_var_name(name))
    console = stdout_console()
    console.print(table)
    where = resolved.config_path or "none (run `rlm config path` to see where it would be)"
    console.print(f"config file: {where}")
