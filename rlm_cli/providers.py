"""Model name -> provider; the providers rlm knows by itself: key variables, bases, local servers.

Knows the usual LiteLLM providers without importing litellm, so keys are checked at once; models
of other providers are left to LiteLLM (llm.py). Must not import litellm, typer or rich.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from rlm_cli.errors import ConfigError, InputError


@dataclass(frozen=True)
class Provider:
    """A LiteLLM provider prefix and how its models are reached."""

    name: str
    key_vars: tuple[str, ...] = ()  # where its key is read, in order; the first is the usual one
    needs_key: bool = True  # False: a local server, or a key that is optional
    openai_compatible: bool = False  # a server given by --api-base may need no key at all
    base_var: str | None = None  # the variable LiteLLM reads the server's address from
    needs_base: bool = False  # no default host: --api-base or `base_var` is required
    credentials: str | None = None  # its own credential chain, which LiteLLM resolves

    @property
    def key_var(self) -> str | None:
        """The variable a key for this provider is usually kept in."""
        return self.key_vars[0] if self.key_vars else None


PROVIDERS: dict[str, Provider] = {p.name: p for p in (
    Provider("openai", ("OPENAI_API_KEY",), openai_compatible=True),
    Provider("anthropic", ("ANTHROPIC_API_KEY",)),
    Provider("gemini", ("GEMINI_API_KEY", "GOOGLE_API_KEY")),
    Provider("openrouter", ("OPENROUTER_API_KEY", "OR_API_KEY")),
    Provider("groq", ("GROQ_API_KEY",)),
    Provider("mistral", ("MISTRAL_API_KEY",)),
    Provider("deepseek", ("DEEPSEEK_API_KEY",)),
    Provider("xai", ("XAI_API_KEY",)),
    Provider("together_ai", ("TOGETHERAI_API_KEY", "TOGETHER_API_KEY", "TOGETHER_AI_API_KEY")),
    Provider("fireworks_ai", ("FIREWORKS_AI_API_KEY", "FIREWORKS_API_KEY")),
    Provider("cerebras", ("CEREBRAS_API_KEY",)),
    Provider("azure", ("AZURE_API_KEY",), base_var="AZURE_API_BASE", needs_base=True),
    Provider("ollama", needs_key=False, base_var="OLLAMA_API_BASE"),
    Provider("ollama_chat", needs_key=False, base_var="OLLAMA_API_BASE"),
    Provider("hosted_vllm", ("HOSTED_VLLM_API_KEY",), needs_key=False, openai_compatible=True,
             base_var="HOSTED_VLLM_API_BASE", needs_base=True),
    Provider("lm_studio", ("LM_STUDIO_API_KEY",), needs_key=False, openai_compatible=True,
             base_var="LM_STUDIO_API_BASE", needs_base=True),
    Provider("bedrock", needs_key=False, credentials="the AWS credential chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, an instance role)"),
    Provider("vertex_ai", needs_key=False, credentials="Google application default credentials (gcloud auth application-default login)"),
)}

# Bare names LiteLLM maps to a provider by its own model list; the usual families, known here.
_BARE = ((re.compile(r"(gpt-|chatgpt-|o\d(-|$))"), "openai"), (re.compile(r"claude-"), "anthropic"))


def provider_name(model: str) -> str | None:
    """The provider prefix of a model string ("openai/x" -> "openai"), or the usual one for a
    bare name ("gpt-5-mini" -> "openai"); None for a bare name only LiteLLM could place."""
    prefix, slash, _ = model.partition("/")
    if slash:
        return prefix
    return next((name for pattern, name in _BARE if pattern.match(model)), None)


def provider_for(model: str) -> Provider | None:
    """The known provider of `model`; None when only LiteLLM can tell. ConfigError when malformed."""
    check_model_name(model)
    name = provider_name(model)
    return PROVIDERS.get(name) if name else None


def check_model_name(model: str) -> None:
    """ConfigError for a name that cannot be a model string (empty parts, spaces)."""
    prefix, slash, rest = model.partition("/")
    if not model.strip() or any(c.isspace() for c in model) or (slash and (not prefix or not rest)):
        raise ConfigError(
            f"malformed model name {model!r}",
            hint="write PROVIDER/MODEL, e.g. openai/gpt-5-mini or anthropic/claude-sonnet-4-5",
        )


def unknown_model_error(model: str, api_base: str | None, known: Iterable[str] = ()) -> ConfigError:
    """The error for a model whose provider LiteLLM cannot place, with a hint that names a fix.

    `known`: provider names beyond our table (LiteLLM's list), for the did-you-mean guess.
    """
    prefix, slash, rest = model.partition("/")
    example = "write PROVIDER/MODEL, e.g. openai/gpt-5-mini or anthropic/claude-sonnet-4-5"
    if not slash:
        if api_base:
            hint = f"for an OpenAI-compatible server use openai/{model}"
        else:
            hint = f"{example}; for a local server use openai/{model} with --api-base, or ollama_chat/{model}"
        return ConfigError(f"model {model!r} names no provider", hint=hint)
    close = difflib.get_close_matches(prefix, sorted({*PROVIDERS, *known}), n=1, cutoff=0.75)
    hints = [f"did you mean {close[0]}/{rest}?"] if close else []
    if api_base:
        hints.append(f"for an OpenAI-compatible server use openai/{model}")
    return ConfigError(f"unknown provider {prefix!r} in model {model!r}", hint="; ".join(hints) or example)


def keyed_providers() -> list[Provider]:
    """Providers whose key `rlm keys` can store."""
    return [p for p in PROVIDERS.values() if p.key_vars]


def provider_named(name: str) -> Provider:
    """A provider with a key, by name (for `rlm keys`); InputError with a guess otherwise."""
    provider = PROVIDERS.get(name)
    if provider is not None and provider.key_vars:
        return provider
    names = [p.name for p in keyed_providers()]
    if provider is not None:
        why = f"{name} takes no API key" + (f": it uses {provider.credentials}" if provider.credentials else "")
        raise InputError(why, hint=f"providers with keys: {', '.join(names)}")
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    raise InputError(
        f"unknown provider {name!r}",
        hint=f"did you mean {close[0]}?" if close else f"providers with keys: {', '.join(names)}",
    )
