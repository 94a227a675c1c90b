"""The `rlm keys` commands: store a provider's key, list which keys are set and where, never show one.

Import-light like cli.py: only typer here; the key store loads inside the commands.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from rlm_cli.exits import handles_errors
from rlm_cli.options import JsonOpt, NoDotenvOpt


def _provider_names(incomplete: str) -> list[str]:
    from rlm_cli.providers import keyed_providers

    return [p.name for p in keyed_providers() if p.name.startswith(incomplete)]


ProviderArg = Annotated[str, typer.Argument(help="A provider, e.g. openai, anthropic, gemini, openrouter (`rlm keys list` names them all).", autocompletion=_provider_names, show_default=False)]


def register_keys_commands(app: typer.Typer) -> None:
    """Add `keys set|unset|list|path` to the app."""
    keys_app = typer.Typer(
        help="API keys: store one for a provider, list which are set and where from (never the values).",
        no_args_is_help=True,
    )
    keys_app.command("set")(handles_errors(set_key))
    keys_app.command("unset")(handles_errors(unset_key))
    keys_app.command("list")(handles_errors(list_keys))
    keys_app.command("path")(keys_path_command)
    app.add_typer(keys_app, name="keys")


def set_key(provider: ProviderArg) -> None:
    """Store PROVIDER's key in the keys file (mode 0600), read from a hidden prompt or from stdin.

    [dim]rlm keys set anthropic[/dim]
    [dim]pass show openai | rlm keys set openai[/dim]
    """
    from rlm_cli.errors import InputError
    from rlm_cli.keys import ENV, Keychain, read_stored, write_stored
    from rlm_cli.providers import provider_named

    known = provider_named(provider)
    if sys.stdin.isatty():
        value = typer.prompt(f"{known.name} key ({known.key_var})", hide_input=True, default="", show_default=False)
    else:
        value = sys.stdin.readline()
    value = value.strip()
    if not value:
        raise InputError("no key given", hint=f"type it at the prompt, or pipe it: ... | rlm keys set {known.name}")
    stored = read_stored()
    stored[known.name] = value
    path = write_stored(stored)
    typer.echo(f"rlm: stored the {known.name} key in {path}", err=True)
    found = Keychain.for_listing(use_dotenv=False).find(known)
    if found is not None and found.origin == ENV:
        typer.echo(f"rlm: note: {found.variable} is set in the environment, which wins over the keys file", err=True)


def unset_key(provider: ProviderArg) -> None:
    """Remove PROVIDER's key from the keys file (the environment and .env are left alone)."""
    from rlm_cli.keys import keys_path, read_stored, write_stored
    from rlm_cli.providers import provider_named

    known = provider_named(provider)
    stored = read_stored()
    if stored.pop(known.name, None) is None:
        typer.echo(f"rlm: no {known.name} key in {keys_path()}", err=True)
        return
    write_stored(stored)
    typer.echo(f"rlm: removed the {known.name} key from {keys_path()}", err=True)


def list_keys(json_output: JsonOpt = False, no_dotenv: NoDotenvOpt = False) -> None:
    """List each provider's key variable and where its key comes from: env, .env, keys file;
    then the variables the deployments of a router file (--router, config) read their keys from."""
    from rlm_cli.keys import Keychain
    from rlm_cli.providers import keyed_providers
    from rlm_cli.settings import resolve

    settings = resolve({"dotenv": False if no_dotenv else None}).settings
    keychain = Keychain.for_listing(use_dotenv=settings.dotenv)
    rows = []
    for provider in keyed_providers():
        found = keychain.find(provider)
        rows.append({"provider": provider.name, "variable": found.variable if found else provider.key_var, "source": found.origin if found else None})
    if settings.router is not None:
        from rlm_cli.deployments import RouterConfig

        for deployment in RouterConfig.load(settings.router).deployments:
            for variable in deployment.references().values():
                rows.append({"provider": f"{deployment.group}: {deployment.name}", "variable": variable, "source": keychain.origin_of(variable)})
    if json_output:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        typer.echo(f"{row['provider']:<13} {row['variable']:<22} {row['source'] or 'not set'}")


def keys_path_command() -> None:
    """Print the path of the keys file (it may not exist yet)."""
    from rlm_cli.keys import keys_path

    typer.echo(str(keys_path()))
