"""The system prompt states the contract, the budgets and the sub-model's capacity."""

from __future__ import annotations

import ast
import dataclasses

import pytest

from rlm_cli.prompts import PromptFacts, system_prompt
from rlm_cli.replies import parse

FACTS = PromptFacts(sub_model="openai/sub", sub_window_tokens=100_000, concurrency=8, output_limit=20_000,
                    max_iterations=12, can_recurse=False, max_cost=1.5, libraries=("numpy",))


def test_prompt_teaches_the_contract_and_states_budgets() -> None:
    prompt = system_prompt(FACTS)
    for name in ("`context`", "llm_query", "llm_batch", "llm_query_batched", "rlm_query", "rlm_query_batched", 'answer["ready"]',
                 "FINAL(", "FINAL_VAR(", "SHOW_VARS()", "numpy", "At most 12 turns", "$1.50", "300,000 characters"):
        assert name in prompt, name


def test_without_sub_calls_the_prompt_does_not_offer_them() -> None:
    prompt = system_prompt(dataclasses.replace(FACTS, max_sub_calls=0))
    assert "llm_batch" not in prompt and "llm_query" not in prompt
    assert "No sub-LLM calls are available" in prompt


def test_the_prompt_says_context_is_a_str_with_documents() -> None:
    prompt = system_prompt(FACTS)
    for said in ("real `str`", "`re`, `json`", "`=== path ===`", "context.documents", ".path", "context.grep("):
        assert said in prompt, said
    assert "memory-mapped" not in prompt


def test_for_a_mapped_input_the_prompt_says_what_to_use_instead() -> None:
    prompt = system_prompt(dataclasses.replace(FACTS, mapped=True))
    for said in ("memory-mapped", "not a str", "are refused", "str(context[a:b])", "context.iter_chunks(", "context.grep("):
        assert said in prompt, said
    assert "re.split" not in prompt and "re.findall(r" not in prompt  # the examples use what works there


@pytest.mark.parametrize("facts", [FACTS, dataclasses.replace(FACTS, max_sub_calls=0), dataclasses.replace(FACTS, mapped=True)])
def test_the_worked_examples_are_python_the_reply_reader_runs(facts: PromptFacts) -> None:
    examples = parse(system_prompt(facts).split("## Examples")[1].split("## Budgets")[0]).blocks
    assert len(examples) == (3 if facts.max_sub_calls == 0 else 4)
    for block in examples:
        ast.parse(block)
    assert any("answer[\"content\"] =" in block for block in examples)
    assert any("context.documents" in block for block in examples)


def test_the_prompt_stays_short() -> None:
    assert len(system_prompt(dataclasses.replace(FACTS, can_recurse=True))) < 5_000


def test_the_users_instruction_ends_the_system_prompt_and_a_blank_one_adds_nothing() -> None:
    facts = PromptFacts(sub_model="openai/sub", sub_window_tokens=100_000, concurrency=8, output_limit=20_000, max_iterations=30, can_recurse=False)
    plain = system_prompt(facts)
    assert system_prompt(dataclasses.replace(facts, instruction="  ")) == plain
    extended = system_prompt(dataclasses.replace(facts, instruction="Answer in French.\n"))
    assert extended.startswith(plain) and extended.endswith("\nAnswer in French.")
