"""The `rlm cache` commands: where the response cache is and how big, and emptying it.

Import-light like cli.py: only typer here; the cache (diskcache) loads inside the commands.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer

from rlm_cli.exits import handles_errors
from rlm_cli.options import JsonOpt

if TYPE_CHECKING:
    from rlm_cli.response_cache import ResponseCache
    from rlm_cli.settings import Settings


def register_cache_commands(app: typer.Typer) -> None:
    """Add `cache info|clear` to the app."""
    cache_app = typer.Typer(help="The response cache of model replies: where it is, how big, and emptying it.", no_args_is_help=True)
    cache_app.command("info")(handles_errors(cache_info))
    cache_app.command("clear")(handles_errors(cache_clear))
    app.add_typer(cache_app, name="cache")


def cache_info(json_output: JsonOpt = False) -> None:
    """Print the cache's path, its entries, its size on disk and its cap (setting: cache-size)."""
    from rlm_cli.units import format_size

    info = _cache().info()
    if json_output:
        typer.echo(json.dumps(info.to_json_dict(), indent=2))
        return
    typer.echo(f"path     {info.path}\nentries  {info.entries:,}\nsize     {info.size:,} bytes\ncap      {format_size(info.cap)}")


def cache_clear() -> None:
    """Remove every cached reply and ingest record (the next runs call the model and read every file again)."""
    from rlm_cli.ingest import reuse
    from rlm_cli.settings import cache_dir

    cache = _cache()
    removed = cache.clear()
    typer.echo(f"rlm: removed {removed:,} cached {'reply' if removed == 1 else 'replies'} from {cache.directory}", err=True)
    reuse.clear(reuse.ingest_cache(cache_dir(_settings())))


def _settings() -> Settings:
    from rlm_cli.settings import resolve

    return resolve().settings


def _cache() -> ResponseCache:
    """The response cache the settings name; ConfigError when it cannot be opened."""
    from rlm_cli.errors import ConfigError
    from rlm_cli.response_cache import response_cache
    from rlm_cli.settings import cache_dir

    settings = _settings()
    cache = response_cache(cache_dir(settings), settings.cache_size)
    if cache.open() is None:
        raise ConfigError(f"cannot open the response cache in {cache.directory}: {cache.error}", hint="check the cache-dir setting (RLM_CACHE_DIR)")
    return cache
