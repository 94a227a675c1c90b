"""Deployments: several servers (keys, regions, providers) behind one model name, via LiteLLM's Router.

Reads a model_list (a YAML or JSON file as the LiteLLM proxy reads it, or the config file's
`[router]` table), takes each deployment's key from the variable it names, and sends the calls of
the models it lists through `litellm.Router` (load balancing, rpm/tpm limits, cooldowns,
fallbacks); every other model is called directly, as before. Gets litellm from llm.py only.
"""

from __future__ import annotations

import json
import os
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlm_cli.connections import KEYLESS, Connections
from rlm_cli.errors import ConfigError
from rlm_cli.keys import name_secret_variables
from rlm_cli.llm import LLMClient, litellm_module

ENV_REFERENCE = "os.environ/"  # how a model_list names a variable instead of writing a secret
# The Router's own settings a router file may set; its retries are rlm's (see RoutedClient).
ROUTER_SETTINGS = frozenset({
    "routing_strategy", "routing_strategy_args", "cooldown_time", "allowed_fails", "allowed_fails_policy",
    "disable_cooldowns", "fallbacks", "default_fallbacks", "context_window_fallbacks",
    "content_policy_fallbacks", "max_fallbacks", "enable_pre_call_checks",
})
NO_DEPLOYMENT = "No deployments available"  # the Router's words when every deployment is cooling down or at its limit
_HINT = "the model_list format of the LiteLLM proxy: see the README's \"Scaling out\" section"


@dataclass(frozen=True)
class Deployment:
    """One server of a model name: its LiteLLM parameters as written (secrets as references)."""

    name: str  # as the tree and `--json` show it: model_info.id, else `<model_name>-<n>`
    group: str  # the model_name runs ask for
    params: dict[str, Any]

    @property
    def model(self) -> str:
        """The LiteLLM model string this deployment calls."""
        return str(self.params["model"])

    def references(self) -> dict[str, str]:
        """Parameter -> the environment variable its value is read from."""
        return {key: value.removeprefix(ENV_REFERENCE) for key, value in self.params.items()
                if isinstance(value, str) and value.startswith(ENV_REFERENCE)}

    def resolved(self, env: Mapping[str, str]) -> dict[str, Any]:
        """The parameters the Router is given, each secret read here from its own variable.

        Nothing is left for LiteLLM to look up: a deployment with an API base and no key gets a
        placeholder, so a provider's usual key never reaches another host.
        """
        params = dict(self.params)
        for key, variable in self.references().items():
            value = env.get(variable)
            if not value:
                raise ConfigError(
                    f"missing {key} for deployment {self.name} of {self.group}: set {variable}",
                    hint=f"export {variable}=..., or put it in ./.env",
                )
            params[key] = value
        if "api_key" not in params:
            if params.get("api_base"):
                params["api_key"] = KEYLESS
            else:  # the provider's own host: its usual key, found as for any model
                connection = Connections.shared(None).get(self.model)
                if connection.missing is not None:
                    raise connection.missing
                if connection.api_key:
                    params["api_key"] = connection.api_key
        return params


@dataclass(frozen=True)
class RouterConfig:
    """The deployments of a run, and the Router settings that go with them."""

    deployments: tuple[Deployment, ...]
    settings: dict[str, Any]
    source: str  # where it was read, for messages

    @classmethod
    def load(cls, source: object) -> RouterConfig:
        """From a file's path or the config file's `[router]` table; ConfigError when malformed."""
        if isinstance(source, Mapping):
            return cls.parse(source, "the config file's [router] table")
        return cls._read(Path(str(source)).expanduser())

    @classmethod
    def _read(cls, path: Path) -> RouterConfig:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"cannot read the router file {path}: {getattr(error, 'strerror', None) or error}",
                              hint="--router takes a YAML or JSON file with a model_list") from None
        import yaml

        try:
            data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as error:
            raise ConfigError(f"malformed router file {path}: {' '.join(str(error).split())}", hint=_HINT) from None
        return cls.parse(data, str(path))

    @classmethod
    def parse(cls, data: object, source: str) -> RouterConfig:
        """Check a model_list document (other top-level keys of a proxy config are ignored)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("model_list"), list) or not data["model_list"]:
            raise ConfigError(f"{source}: expected a non-empty model_list", hint=_HINT)
        deployments: list[Deployment] = []
        for number, entry in enumerate(data["model_list"], 1):
            deployments.append(_deployment(entry, number, deployments, source))
        settings = data.get("router_settings") or {}
        if not isinstance(settings, Mapping) or set(settings) - ROUTER_SETTINGS:
            unknown = sorted(set(settings) - ROUTER_SETTINGS) if isinstance(settings, Mapping) else [str(settings)]
            raise ConfigError(f"{source}: router_settings cannot set {', '.join(unknown)}",
                              hint=f"it takes {', '.join(sorted(ROUTER_SETTINGS))}; retries are --max-retries")
        config = cls(tuple(deployments), dict(settings), source)
        name_secret_variables(config.variables())  # their values are redacted like any key
        return config

    def serves(self, model: str) -> bool:
        """Whether calls to `model` go through the Router."""
        return any(d.group == model for d in self.deployments)

    def of(self, model: str) -> list[Deployment]:
        """The deployments of a model name."""
        return [d for d in self.deployments if d.group == model]

    def variables(self) -> set[str]:
        """Every environment variable the deployments read a secret from."""
        return {variable for d in self.deployments for variable in d.references().values()}

    def model_list(self, env: Mapping[str, str]) -> list[dict[str, Any]]:
        """The Router's model_list: secrets resolved, each deployment's id its name."""
        return [{"model_name": d.group, "litellm_params": d.resolved(env), "model_info": {"id": d.name}}
                for d in self.deployments]


def _deployment(entry: object, number: int, earlier: list[Deployment], source: str) -> Deployment:
    where = f"{source}: model_list entry {number}"
    if not isinstance(entry, Mapping) or not isinstance(entry.get("model_name"), str) or not entry["model_name"]:
        raise ConfigError(f"{where} needs a model_name", hint=_HINT)
    params, info = entry.get("litellm_params"), entry.get("model_info") or {}
    if not isinstance(params, Mapping) or not isinstance(params.get("model"), str) or not isinstance(info, Mapping):
        raise ConfigError(f"{where} needs litellm_params with a model (a LiteLLM model string)", hint=_HINT)
    group = entry["model_name"]
    key = params.get("api_key")
    if key is not None and not (isinstance(key, str) and key.startswith(ENV_REFERENCE)):
        raise ConfigError(f"{where}: write its api_key as os.environ/VARIABLE, never the key itself",
                          hint="keys stay in the environment or ./.env; the file names the variable")
    for limit in ("rpm", "tpm"):
        value = params.get(limit)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ConfigError(f"{where}: {limit} must be a whole number of at least 1, got {value!r}", hint=_HINT)
    name = str(info.get("id") or f"{group}-{1 + sum(d.group == group for d in earlier)}")
    if any(d.name == name for d in earlier):
        raise ConfigError(f"{where}: two deployments are named {name!r}", hint="give each model_info.id its own name")
    return Deployment(name, group, dict(params))


class NoDeployment(ConnectionError):
    """Every deployment of a model is cooling down or at its rpm/tpm limit: worth waiting for."""

    status_code = 429

    def __init__(self, text: str, wait_s: float) -> None:
        super().__init__(text)
        self.litellm_response_headers = {"retry-after": f"{wait_s:.3f}"}  # read as any Retry-After


class RoutedClient(LLMClient):
    """An LLMClient whose calls to the models of a model_list go through one `litellm.Router`.

    Retries stay rlm's (events, Retry-After, --timeout, stop): the Router is built with no retries
    of its own, so a failing call is never retried by both. After the failure of one of several
    deployments the next attempt is made at once (the Router has cooled that deployment down, or
    picks again); when the whole group is cooling down or at its limits, rlm waits as long as the
    Router says; a model with one deployment waits as any model does.
    """

    def __init__(self, config: RouterConfig, **arguments: Any) -> None:
        super().__init__(**arguments)
        self.config = config
        self._router: Any = None
        self._router_lock = threading.Lock()

    def check_keys(self, models: list[str]) -> None:
        """Also every deployment's key variable: one that is not set is a ConfigError naming it."""
        for model in models:
            for deployment in self.config.of(model):
                deployment.resolved(os.environ)
        super().check_keys([model for model in models if not self.config.serves(model)])

    def model_info(self, model: str) -> dict[str, Any] | None:
        """A model name of the model_list is its first deployment's model (window, prices)."""
        return super().model_info(self._first_model(model))

    def count_tokens(self, model: str, text: str) -> int | None:
        """Tokens by the tokenizer of the first deployment's model."""
        return super().count_tokens(self._first_model(model), text)

    def _first_model(self, model: str) -> str:
        deployments = self.config.of(model)
        return deployments[0].model if deployments else model

    def router(self) -> Any:
        """The Router, built on first use (importing LiteLLM takes seconds)."""
        with self._router_lock:
            if self._router is None:
                litellm = litellm_module()
                with warnings.catch_warnings():  # its own typing notes (pydantic), nothing for the user
                    warnings.simplefilter("ignore")
                    self._router = litellm.Router(
                        model_list=self.config.model_list(os.environ), num_retries=0, **self.config.settings,
                    )
            return self._router

    def _call_options(self, model: str) -> dict[str, Any]:
        return {} if self.config.serves(model) else super()._call_options(model)

    def _send(self, litellm: Any, kwargs: dict[str, Any]) -> Any:
        if not self.config.serves(kwargs["model"]):
            return super()._send(litellm, kwargs)
        try:
            return self.router().completion(**kwargs)
        except ValueError as error:  # the Router's "no deployment", which is no provider's answer
            if NO_DEPLOYMENT not in str(error):
                raise
            raise NoDeployment(f"{kwargs['model']}: {str(error).split('.')[0]}", _wait_for(error)) from None

    def _pause(self, model: str, error: BaseException | None, attempt: int) -> float:
        # A lone deployment is not cooled down on a 429: it gets the usual backoff, not a storm.
        if len(self.config.of(model)) > 1 and not isinstance(error, NoDeployment):
            return 0.0
        return super()._pause(model, error, attempt)

    def _answered_by(self, response: Any) -> str | None:
        hidden = getattr(response, "_hidden_params", None) or {}
        model_id = hidden.get("model_id")
        return str(model_id) if model_id else None


def _wait_for(error: ValueError) -> float:
    """Until the first cooldown ends, or (rpm/tpm used up) until LiteLLM's next usage minute."""
    cooldown = getattr(error, "cooldown_time", None)
    if isinstance(cooldown, int | float) and cooldown > 0:
        return float(cooldown)
    return 60.0 - time.time() % 60.0
