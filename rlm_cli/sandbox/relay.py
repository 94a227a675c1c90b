"""One REPL worker serving several runs in turn (`rlm chat`): a Broker that hands each sub-call
to the broker of the run asking now, and the sandbox it belongs to. Host side."""

from __future__ import annotations

from dataclasses import dataclass

from rlm_cli.errors import SandboxError
from rlm_cli.sandbox.calls import Broker
from rlm_cli.sandbox.host import Sandbox


class Relay:
    """A Broker forwarding to `target`, the current run's broker (set before each run)."""

    def __init__(self) -> None:
        self.target: Broker | None = None

    def _broker(self) -> Broker:
        if self.target is None:  # a background thread of the model's calling between questions
            raise SandboxError("no question is being answered: sub-calls wait for the next one")
        return self.target

    def llm_query(self, prompt: str, model: str | None = None, tools: list[str] | None = None) -> str:
        """One sub-LLM call, by the current run's broker."""
        return self._broker().llm_query(prompt, model, tools)

    def llm_batch(self, prompts: list[str], model: str | None = None, tools: list[str] | None = None) -> list[str]:
        """Several sub-LLM calls, by the current run's broker."""
        return self._broker().llm_batch(prompts, model, tools)

    def rlm_query(self, prompt: str, context: str | None = None) -> str:
        """A child run, by the current run's broker."""
        return self._broker().rlm_query(prompt, context)


@dataclass
class SharedRepl:
    """A sandbox kept across the questions of one chat session, and the relay its calls go through."""

    sandbox: Sandbox
    relay: Relay
    session_id: str
    questions: int = 0  # asked so far in this REPL
    worker: int = 0  # the sandbox's worker when the last question ended (Sandbox.worker)
