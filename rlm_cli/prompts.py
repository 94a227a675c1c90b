"""What the root model is told: the system prompt, the first user message, and per-turn notes.

Pure text building; imports nothing heavy. The prompt's size never depends on the input's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rlm_cli.units import CHARS_PER_TOKEN

SYSTEM_PROMPT = """\
You answer a question about an input that is far too large to read in one go. The input is \
loaded into a persistent Python REPL as the variable `context`; you see only a description of \
it. {approach}

## The REPL
Write code in ```repl or ```python blocks. The blocks of a reply run in order, and you then see \
what they printed (stdout, stderr, the repr of a trailing expression, errors). Only that comes \
back, cut from both ends past {output_limit:,} characters: print counts, summaries and short \
samples, never the whole input. Variables persist between turns. Write one block per reply.

- `context`: {context_line}
{sub_names}- `answer`: a dict. Keep your best answer so far in `answer["content"]`; set \
`answer["ready"] = True` only when it is final. `FINAL(text)` does both at once, \
`FINAL_VAR("name")` with a variable's value.
- `SHOW_VARS()` returns a listing of your variables.{libraries_line}

## Sub-LLMs
{sub_section}

## How to work
1. Look first: sizes, file names, samples, grep hits. Never mark the answer ready before you \
have seen output from the context.
2. Use code for searching, filtering, counting, parsing, slicing.
3. {meaning_step}
4. Draft the answer in `answer["content"]` as you go, so a partial answer exists if a budget \
runs out.
5. Verify the draft against the context (grep for the facts you cite, count again).
6. Finish in a code block: `FINAL(...)`, `FINAL_VAR("name")` or `answer["ready"] = True`. \
Answer the question directly and completely, in its language; {cite_step}

Never invent REPL output: you know only what the REPL printed back. If a cell times out or is \
slow, write cheaper code (search before you loop, avoid quadratic work).

{citations}## Examples (`re` and `json` are already imported)
{examples}
## Budgets
{budget_lines}
When a budget runs out, you are told to finish: then set your best answer and mark it ready.
"""

_CONTEXT_STR = (
    "the input as a real `str`: slicing, `re`, `json` and every str method work on it directly. "
    "Several files are joined, each after a `=== path ===` line; `context.files` lists the paths "
    "and `context.documents` gives each file as a str with `.path`. Also "
    "`context.grep(pattern, ignore_case=False, context_lines=0)` (matches with `.path`, "
    "`.line_no`, `.line`) and `context.chunks(max_chars, by=\"lines\" or \"files\")` (pieces "
    "that are strs and know where they came from)."
)

_CONTEXT_MAPPED = (
    "the input, memory-mapped because it is huge: not a str, never loaded whole. `len(context)`, "
    "`\"x\" in context`, `context.count(s)` and `str(context[a:b])` work; whole-text operations "
    "(`re.findall(p, context)`, `json.loads`, `.split()`) are refused. Search with "
    "`context.grep(pattern, ignore_case=False, context_lines=0)` (matches with `.path`, `.line_no`, "
    "`.line`); walk it with `context.iter_chunks(max_chars)` or `context.chunks(max_chars)` "
    "(pieces usable as strs), or line by line with `context.lines()` (a lazy sequence: len, index, "
    "slice, iterate). `context.files` and `context.documents` (each with `.path`) work "
    "per file."
)

_EXAMPLE_BATCH = """\
Chunk by structure, then batch:
```repl
parts = {split}
notes = llm_batch([f"List the deadlines in this part:\\n{{p}}" for p in parts])
```
"""

_EXAMPLE_GREP = """\
Grep, then read around the hits:
```repl
for m in context.grep(r"timeout|refused", ignore_case=True)[:20]:
    print(m.path, m.line_no, m.line)
```
Aggregate per document:
```repl
todos = {{doc.path: {per_doc} for doc in context.documents}}
```
"""

_EXAMPLE_FINISH = """\
Build the answer up, then finish:
```repl
answer["content"] = {build}
print(answer["content"][:2000])  # read it; mark it ready next turn if it holds
```
"""

_EXAMPLE_FORMS = {  # (split, per_doc) for a str context and for a mapped one
    False: ('re.split(r"\\n(?=## )", context)  # or context.chunks(100_000)', 'len(re.findall(r"\\bTODO\\b", doc))'),
    True: ("context.chunks(100_000)", 'len(doc.grep(r"\\bTODO\\b"))'),
}
_EXAMPLE_BUILD = {
    True: 'llm_query("Merge into one dated list:\\n" + "\\n".join(notes))',
    False: '"\\n".join(f"{path}: {n}" for path, n in todos.items() if n)',
}

_APPROACH = {
    True: "You work by writing Python code, turn after turn, and by sending pieces of the input "
    "to sub-LLMs from that code. You are the orchestrator: let code do searching and counting, "
    "and let sub-LLMs do the reading and judging of large pieces.",
    False: "You work by writing Python code, turn after turn: search, slice, count and read "
    "the input with code.",
}

_SUB_NAMES = """\
- `llm_query(prompt, model=None, tools=None) -> str`: one sub-LLM call. The sub-LLM sees only \
the prompt you give it, so put the text it must read into the prompt.
- `llm_batch(prompts, model=None, tools=None) -> list[str]`: many sub-LLM calls in parallel \
(up to {concurrency} at a time), answers in the same order; a failed item is a string starting \
with "Error:", the batch never raises. `llm_query_batched` is the same function.
- `tools=["read", "grep"]` lets a sub-LLM open files and grep the input itself, so that long \
exploration happens in its context, not yours.
- `rlm_query(prompt, context=None) -> str`: {rlm_query_line} `rlm_query_batched(prompts)` runs \
several.
"""

_SUB_SECTION = """\
The sub-model ({sub_model}) accepts about {sub_window_chars:,} characters per prompt; a longer \
prompt is refused and not sent. Prefer few large calls over many small ones: give each call a \
big chunk (around {chunk_hint:,} characters) and batch about 10-20 prompts per `llm_batch` call. \
Never make one call per line or per record. Ask sub-LLMs for short, structured answers that \
your code can combine (JSON, a number, a label)."""

_NO_SUB_SECTION = "No sub-LLM calls are available in this run: work with code alone."

_MEANING_STEP = {
    True: "For meaning (classifying, summarising, judging, finding what grep cannot), chunk the "
    "input (by file, by section, or by size) and fan out with `llm_batch`; then aggregate in code, "
    "or with one more sub-call over the collected answers.",
    False: "For meaning, narrow the input down with code, then print the relevant pieces and read "
    "them yourself, a piece per turn within the output limit.",
}

FIRST_USER_MESSAGE = """\
{description}

The question:
{question}

Begin by looking at `context` in a ```repl block. You have not seen any of it yet."""

NO_CODE_NUDGE = (
    "Your reply had no ```repl code block and no final answer. Continue working in a ```repl "
    "block, or finish with FINAL(...) / answer[\"ready\"] = True once the answer is verified."
)

PROSE_FINAL_NOTE = (
    "{call} was not accepted: it was written next to code whose output (above) you had not seen. "
    "If the output bears it out, reply with just the FINAL again."
)

CUT_NOTE = "Your reply ended inside an unclosed code block (cut off at the length limit?): {ran}. Write shorter replies."

EMPTY_ANSWER_NOTE = (
    "answer[\"ready\"] was set while answer[\"content\"] is empty, so it was not accepted. Put "
    "the answer itself in answer[\"content\"] (or use FINAL(text) / FINAL_VAR(\"name\"))."
)

EARLY_READY_NOTE = (
    "answer[\"ready\"] was set before you had seen any output from the REPL, so it was not "
    "accepted. Check the output above; if the answer holds, mark it ready again."
)

LIMIT_FINAL_REQUEST = """\
The run must stop now: {reason}. No more code will run. Reply with your best answer to the \
question from what you have found so far, in plain text (no code). Say briefly what is \
uncertain or unchecked.

The question: {question}
Your current draft answer: {draft}"""

COMPACTION_REQUEST = """\
Summarise the work so far for yourself, to continue in a shorter context: what you found (with \
exact numbers, names, paths), which variables in the REPL hold which results, what is still to \
do, and your current draft answer. Be specific and complete; the older turns will be replaced \
by this summary. The full transcript stays in the REPL variable `history`."""

COMPACTED_PREFIX = "Summary of the earlier turns (the full transcript is in the REPL variable `history`):\n\n"


USER_INSTRUCTION = "An additional instruction from the user, to follow alongside the above:"


@dataclass(frozen=True)
class PromptFacts:
    """What the system prompt states: budgets, models and capacities."""

    sub_model: str
    sub_window_tokens: int
    concurrency: int
    output_limit: int
    max_iterations: int
    can_recurse: bool
    max_sub_calls: int | None = None
    max_cost: float | None = None
    max_tokens: int | None = None
    timeout: float | None = None
    libraries: Sequence[str] = ()
    mapped: bool = False  # `context` is the lazy memory-mapped form, not a str
    instruction: str | None = None  # the user's own addition (the `system` setting)
    cite: bool = False  # ask for citations (they are checked before the answer is shown)


_CITE_STEP = {
    True: "back each claim with a citation (below).",
    False: "cite paths and line numbers where they help.",
}

CITATIONS_SECTION = """\
## Citations
Back each claim in the answer with a citation to the input, then quote the words that support \
it in double quotes: `path:line` or `path:first-last` for text, `path#page=N` for a PDF page, \
`line N` for piped input. Grep matches and chunks carry theirs ready (`m.cite`, `chunk.cite`; \
`doc.cite(line)` for a line of a document): copy them, never count lines by hand. When you send \
chunks to sub-LLMs, put `chunk.cite` above each chunk's text and ask for citations with quotes. \
The citations are checked against the input before the answer is shown.
```repl
m = context.grep(r"MAX_RETRIES\\s*=")[0]
answer["content"] = f'Retries stop after 5 attempts ({m.cite} "{m.line.strip()}").'
print(answer["content"])  # Retries stop after 5 attempts (src/net/retry.py:42 "MAX_RETRIES = 5").
```

"""

CITATION_REPAIR_REQUEST = """\
These citations in your answer could not be checked against the input:
{items}
Fix each one (find the right place with code: `context.grep(...)` and its `m.cite`) or drop the \
claim it supports. This is your last turn: in this reply, set answer["content"] to the whole \
corrected answer and mark it ready (FINAL(...) or answer["ready"] = True)."""


def citation_repair_request(unsupported: Sequence[tuple[str, str]]) -> str:
    """The one repair turn's request: each unsupported citation (as written) and why."""
    return CITATION_REPAIR_REQUEST.format(items="\n".join(f"- {written}: {why}" for written, why in unsupported))


def system_prompt(facts: PromptFacts) -> str:
    """The root model's system prompt."""
    sub_window_chars = facts.sub_window_tokens * CHARS_PER_TOKEN
    rlm_line = (
        "a child RLM with its own REPL over `context` (your text, or the same input when None), "
        "for a sub-question that itself needs exploring. Costly: prefer llm_batch."
        if facts.can_recurse
        else "at this depth the same as llm_query(prompt + context)."
    )
    libraries = (
        "\n- Installed libraries you can import: " + ", ".join(facts.libraries) + "."
        if facts.libraries
        else ""
    )
    subs = facts.max_sub_calls != 0  # a sub-call budget of 0 is a run without sub-LLMs
    instruction = f"\n\n{USER_INSTRUCTION}\n{facts.instruction.strip()}" if facts.instruction and facts.instruction.strip() else ""
    return SYSTEM_PROMPT.format(
        approach=_APPROACH[subs],
        context_line=_CONTEXT_MAPPED if facts.mapped else _CONTEXT_STR,
        examples=examples(subs, facts.mapped),
        output_limit=facts.output_limit,
        sub_names=_SUB_NAMES.format(concurrency=facts.concurrency, rlm_query_line=rlm_line) if subs else "",
        libraries_line=libraries,
        sub_section=_SUB_SECTION.format(
            sub_model=facts.sub_model, sub_window_chars=sub_window_chars,
            chunk_hint=max(10_000, min(200_000, sub_window_chars // 4)),
        ) if subs else _NO_SUB_SECTION,
        meaning_step=_MEANING_STEP[subs],
        cite_step=_CITE_STEP[facts.cite],
        citations=CITATIONS_SECTION if facts.cite else "",
        budget_lines="\n".join(budget_lines(facts)),
    ) + instruction


def examples(subs: bool, mapped: bool) -> str:
    """The worked examples: the patterns that matter, in the form this run's `context` allows."""
    split, per_doc = _EXAMPLE_FORMS[mapped]
    batch = _EXAMPLE_BATCH.format(split=split) if subs else ""
    return batch + _EXAMPLE_GREP.format(per_doc=per_doc) + _EXAMPLE_FINISH.format(build=_EXAMPLE_BUILD[subs])


def budget_lines(facts: PromptFacts) -> list[str]:
    """One line per budget in force."""
    lines = [f"- At most {facts.max_iterations} turns (replies) of yours."]
    if facts.max_sub_calls:  # 0 means none at all, said in the sub-LLM section
        lines.append(f"- At most {facts.max_sub_calls} sub-LLM calls in all.")
    if facts.max_cost is not None:
        lines.append(f"- At most ${facts.max_cost:.2f} spent in all.")
    if facts.max_tokens is not None:
        lines.append(f"- At most {facts.max_tokens:,} tokens in all (yours and the sub-LLMs').")
    if facts.timeout is not None:
        lines.append(f"- At most {facts.timeout:.0f} seconds of wall time.")
    return lines


def first_user_message(description: str, question: str) -> str:
    """The opening user message: the input's description and the question."""
    return FIRST_USER_MESSAGE.format(description=description, question=question)


def cut_note(lines_left_out: int) -> str:
    """What ran of a reply's last, unclosed code block."""
    if lines_left_out == 0:
        ran = "it ran as written"
    else:
        ran = f"its last {lines_left_out} line(s), an unfinished statement, did not run"
    return CUT_NOTE.format(ran=ran)


def turn_status(turn: int, max_iterations: int, remaining: str) -> str:
    """A short status line appended after each turn's REPL output."""
    left = max_iterations - turn
    status = f"[turn {turn} of {max_iterations}; {left} left"
    if remaining:
        status += f"; {remaining}"
    status += "]"
    if left <= 2:
        status += " Finish soon: set answer[\"content\"] to your best answer and mark it ready."
    return status


EARLIER_CONVERSATION = """\
This question follows up earlier ones about the same input, in the same REPL.

The earlier conversation (oldest first):
{history}

{variables}
`answer["content"]` starts as the previous answer, with `answer["ready"]` False: it is the answer \
to the previous question, not yet to this one. Build on it or replace it, and set \
`answer["ready"] = True` once it answers the question above."""


def earlier_conversation(history: str, kept: list[str] | None, lost: list[str]) -> str:
    """What a follow-up's first message says of the earlier conversation and the REPL's state.

    `kept`: the variables restored in a new REPL (None: the same REPL goes on); `lost`: "name: why"
    for those that could not come back.
    """
    if kept is None:
        variables = "The variables of the earlier questions are still defined (SHOW_VARS() lists them)."
    elif kept:
        shown = ", ".join(f"`{name}`" for name in kept[:40]) + (f" and {len(kept) - 40} more" if len(kept) > 40 else "")
        variables = f"Variables restored from the earlier questions: {shown}."
    else:
        variables = "No variables of the earlier questions were restored."
    if lost:
        variables += ("\nThese could not be restored; recompute them if you need them: "
                      + "; ".join(lost[:20]) + (f"; and {len(lost) - 20} more" if len(lost) > 20 else "") + ".")
    return EARLIER_CONVERSATION.format(history=history, variables=variables)
