"""Each model's connection for a run: provider, API base, key variable and key value.

The root model and the sub-model each have their own base (`--api-base`, `--sub-api-base`); a
model reaches a configured base only when it is of that model's provider, so a key goes only to
its own provider. Must not import litellm: models of providers we do not know are checked by
the `unknown` callable llm.py passes in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rlm_cli.errors import ConfigError
from rlm_cli.keys import Keychain
from rlm_cli.providers import Provider, provider_for, provider_name

if TYPE_CHECKING:
    from rlm_cli.settings import Settings

KEYLESS = "not-needed"  # what an OpenAI-compatible local server that wants no key is sent

# (model, api_base) -> None, raising ConfigError: the check for a provider only LiteLLM knows.
UnknownCheck = Callable[[str, str | None], None]


@dataclass(frozen=True)
class Connection:
    """How one model is reached."""

    model: str
    provider: Provider | None  # None: a provider only LiteLLM knows (it finds base and key)
    api_base: str | None
    key_var: str | None  # the variable the key came from (or would come from)
    api_key: str | None  # sent with each call; None: LiteLLM's own lookup, or no key
    missing: ConfigError | None = None  # why the model cannot be called, when it cannot

    def call_options(self) -> dict[str, Any]:
        """The `completion()` arguments that carry this connection."""
        options: dict[str, Any] = {}
        if self.api_base:
            options["api_base"] = self.api_base
        if self.api_key:
            options["api_key"] = self.api_key
        return options


class Connections:
    """The connections of a run's models, resolved once per model (thread-safe)."""

    def __init__(self, bases: dict[str, str | None], keychain: Callable[[], Keychain], everywhere: str | None = None) -> None:
        """`bases`: configured model -> its base; `everywhere`: a base for all other models."""
        self.bases = bases
        self.everywhere = everywhere
        self._keychain_factory = keychain
        self._keychain: Keychain | None = None
        self._resolved: dict[str, Connection] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Connections:
        """Root and sub-model with their own bases; the sub-model shares the root's base only
        when it is the same provider."""
        root, sub = settings.model, settings.effective_sub_model
        sub_base = settings.sub_api_base
        if sub_base is None and _same_provider(root, sub):
            sub_base = settings.api_base
        return cls({sub: sub_base, root: settings.api_base}, Keychain.for_run)

    @classmethod
    def shared(cls, api_base: str | None) -> Connections:
        """Every model through one server (or each provider's default host when None)."""
        return cls({}, Keychain.for_run, everywhere=api_base)

    def base_for(self, model: str) -> str | None:
        """A configured model's own base; another model gets the base of a configured model of
        the same provider (the REPL may name a model), else its provider's default."""
        if model in self.bases:
            return self.bases[model]
        for configured, base in self.bases.items():
            if base and _same_provider(model, configured):
                return base
        return self.everywhere

    def get(self, model: str) -> Connection:
        """The connection for `model` (ConfigError for a malformed name)."""
        with self._lock:
            connection = self._resolved.get(model)
            if connection is None:
                if self._keychain is None:
                    self._keychain = self._keychain_factory()
                connection = _resolve(model, self.base_for(model), self._keychain)
                self._resolved[model] = connection
        return connection

    def check(self, models: Iterable[str], unknown: UnknownCheck) -> None:
        """ConfigError for the first model that cannot be called, naming what is missing."""
        for model in dict.fromkeys(models):
            connection = self.get(model)
            if connection.provider is None:
                unknown(model, connection.api_base)
            elif connection.missing:
                raise connection.missing


def _resolve(model: str, api_base: str | None, keychain: Keychain) -> Connection:
    provider = provider_for(model)
    if provider is None:
        return Connection(model, None, api_base, None, None)
    found = keychain.find(provider)
    key_var = found.variable if found else provider.key_var
    api_key = found.value if found else None
    missing = None
    if provider.needs_base and not api_base and not (provider.base_var and keychain.env.get(provider.base_var)):
        missing = ConfigError(
            f"{model} needs the address of its server: set {provider.base_var} or pass its API base",
            hint="--api-base for the root model, --sub-api-base for the sub-model",
        )
    elif api_key is None and provider.needs_key:
        if api_base and provider.openai_compatible:
            api_key = KEYLESS  # vLLM, llama.cpp, LM Studio: most local servers want no key
        else:
            missing = ConfigError(
                f"missing API key for {model}: set {' or '.join(provider.key_vars)}",
                hint=f"export {provider.key_var}=..., put it in ./.env, or run `rlm keys set {provider.name}`"
                + (" (a local OpenAI-compatible server needs only --api-base)" if provider.openai_compatible else ""),
            )
    return Connection(model, provider, api_base, key_var, api_key, missing)


def _same_provider(a: str, b: str) -> bool:
    name = provider_name(a)
    return name is not None and name == provider_name(b)
