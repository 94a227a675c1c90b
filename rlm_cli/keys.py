"""API keys from where users keep them: the environment, a `.env` file, rlm's own keys file.

Precedence: environment > `.env` in the working directory > keys file. Owns the keys file
(`$XDG_CONFIG_HOME/rlm/keys.json`, mode 0600). Never prints a key. Must not import litellm.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from rlm_cli.errors import ConfigError
from rlm_cli.providers import Provider
from rlm_cli.settings import config_path

ENV = "env"
DOTENV = ".env"
KEYS_FILE = "keys file"


def keys_path() -> Path:
    """Where stored keys live: next to the config file, `$XDG_CONFIG_HOME/rlm/keys.json`."""
    return config_path().parent / "keys.json"


def dotenv_path() -> Path:
    """The `.env` file read for a run: the one in the working directory."""
    return Path.cwd() / ".env"


def load_dotenv(enabled: bool) -> None:
    """Add the working directory's `.env` to the environment; variables already set are kept."""
    path = dotenv_path()
    if enabled and path.is_file():
        import dotenv

        dotenv.load_dotenv(path, override=False)


def dotenv_values(enabled: bool) -> dict[str, str]:
    """The `.env` file's variables (with values), without adding them to the environment."""
    path = dotenv_path()
    if not (enabled and path.is_file()):
        return {}
    import dotenv

    return {name: value for name, value in dotenv.dotenv_values(path).items() if value}


def read_stored(path: Path | None = None) -> dict[str, str]:
    """Provider name -> key from the keys file ({} when there is none)."""
    path = keys_path() if path is None else path
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ConfigError(f"cannot read the keys file {path}: {error}", hint="`rlm keys set PROVIDER` rewrites it") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ConfigError(f"the keys file {path} is not an object of provider names and keys", hint="`rlm keys set PROVIDER` rewrites it")
    return data


def write_stored(keys: Mapping[str, str], path: Path | None = None) -> Path:
    """Replace the keys file atomically; it is created with mode 0600, never wider for a moment."""
    path = keys_path() if path is None else path
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".keys-", suffix=".json")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(dict(sorted(keys.items())), file, indent=2)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


@dataclass(frozen=True)
class FoundKey:
    """A key and where it was found (never shown: only `variable` and `origin` are)."""

    value: str
    variable: str
    origin: str  # ENV, DOTENV or KEYS_FILE


class Keychain:
    """Looks keys up in the environment, then `.env`, then the keys file."""

    def __init__(self, env: Mapping[str, str], dotenv: Mapping[str, str], stored: Mapping[str, str]) -> None:
        self.env = env
        self.dotenv = dotenv
        self.stored = stored

    @classmethod
    def for_run(cls) -> Keychain:
        """The keys a run uses: `.env` is already in the environment (see load_dotenv)."""
        return cls(os.environ, {}, read_stored())

    @classmethod
    def for_listing(cls, use_dotenv: bool) -> Keychain:
        """The keys as `rlm keys list` shows them, telling the environment and `.env` apart."""
        return cls(os.environ, dotenv_values(use_dotenv), read_stored())

    def origin_of(self, variable: str) -> str | None:
        """Where a variable is set (ENV or DOTENV), or None."""
        return next((origin for origin, source in ((ENV, self.env), (DOTENV, self.dotenv)) if source.get(variable)), None)

    def find(self, provider: Provider) -> FoundKey | None:
        """The key `provider` would use, or None."""
        for origin, source in ((ENV, self.env), (DOTENV, self.dotenv)):
            for variable in provider.key_vars:
                if source.get(variable):
                    return FoundKey(source[variable], variable, origin)
        stored = self.stored.get(provider.name)
        if stored and provider.key_var:
            return FoundKey(stored, provider.key_var, KEYS_FILE)
        return None


_SECRET_VARIABLES: set[str] = set()  # variables a config names as holding secrets (os.environ/VAR)
_secret_lock = threading.Lock()


def name_secret_variables(names: Iterable[str]) -> None:
    """Mark variables as holding secrets whatever their names (a router file's `os.environ/VAR`),
    so traces and output redact their values too."""
    with _secret_lock:
        _SECRET_VARIABLES.update(names)


def secret_variables() -> frozenset[str]:
    """The variables marked by name_secret_variables."""
    with _secret_lock:
        return frozenset(_SECRET_VARIABLES)


def stored_values() -> list[str]:
    """The keys in the keys file, for redaction (none when the file is missing or unreadable)."""
    try:
        return list(read_stored(keys_path()).values())
    except ConfigError:
        return []
