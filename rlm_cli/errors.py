"""The RlmError family: every failure a user can cause or meet. Leaf module: imports nothing."""

from __future__ import annotations


class RlmError(Exception):
    """Base of the errors rlm reports to the user as one line (plus an optional hint)."""

    def __init__(self, message: str, *, hint: str | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.reason = reason  # a short tag for how it failed ("auth", "rate_limited", ...), if known


class InputError(RlmError):
    """Bad usage or input: a bad flag, a missing path, nothing readable."""


class ConfigError(RlmError):
    """Configuration: no model, a missing API key, a malformed config file."""


class ProviderError(RlmError):
    """The model provider or the network failed and retries did not cure it."""


class SandboxError(RlmError):
    """The REPL worker could not be started or kept alive."""


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP: the run ends as on Ctrl-C, and exits with 128 + the signal's number."""

    def __init__(self, signum: int, name: str) -> None:
        super().__init__(name)
        self.signum = signum
        self.name = name
