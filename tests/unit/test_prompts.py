"""The system prompt states the contract, the budgets and the sub-model's capacity."""

from __future__ import annotations

import dataclasses

from rlm_cli.prompts import PromptFacts, system_prompt

FACTS = PromptFacts(sub_model="openai/sub", sub_window_tokens=100_000, concurrency=8, output_limit=20_000,
                    max_iterations=12, can_recurse=False, max_cost=1.5, libraries=("numpy",))


def test_prompt_teaches_the_contract_and_states_budgets() -> None:
    prompt = system_prompt(FACTS)
    for name in ("`context`", "llm_query", "llm_batch", "llm_query_batched", "rlm_query", 'answer["ready"]',
                 "FINAL(", "FINAL_VAR(", "SHOW_VARS()", "numpy", "At most 12 turns", "$1.50", "300,000 characters"):
        assert name in prompt, name


def test_without_sub_calls_the_prompt_does_not_offer_them() -> None:
    prompt = system_prompt(dataclasses.replace(FACTS, max_sub_calls=0))
    assert "llm_batch" not in prompt and "llm_query" not in prompt
    assert "No sub-LLM calls are available" in prompt
