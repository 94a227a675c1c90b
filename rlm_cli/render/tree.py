"""The run tree, rebuilt from a RunState on every refresh: turns, code, output, sub-calls, answer.

Imports `accounting`, `render.state`, `render.calls` and `render.fmt`; the Live display lives in render/live.py.
"""

from __future__ import annotations

from functools import lru_cache

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.text import Text
from rich.tree import Tree

from rlm_cli.accounting import ROLES, Usage
from rlm_cli.render import fmt
from rlm_cli.render.calls import View, batch_label, call_label, pick_calls, retry_text
from rlm_cli.render.state import Batch, Call, Cell, Run, RunState, Turn

LIVE_TURNS = 2  # turns drawn in full while running; older ones fold to one line
FOLDED_TURNS = 6  # folded one-liners kept at most while running
CODE_LINES = 10
OUTPUT_HEAD = 3
OUTPUT_TAIL = 3
ANSWER_LINES = 6


def run_view(state: RunState, view: View) -> RenderableType:
    """The whole picture: the root run's tree and its footer."""
    root = state.root
    if root is None:
        return Text("")
    tree = Tree(_root_label(root), guide_style="dim")
    _fill_run(tree, root, view)
    return Group(tree, footer(root, state, view))


def footer(run: Run, state: RunState, view: View) -> Text:
    """Elapsed time, turns, sub-calls, then root and sub tokens and cost."""
    done = run.finished
    origin = view.origin if view.origin is not None and run.parent is None else run.started.ts
    elapsed = done.elapsed_s if done else (state.last_ts if view.final else view.now) - origin
    text = Text()
    if done is None:
        text.append("running" if not view.final else "unfinished", style="cyan")
    elif done.ready:
        text.append("✓ answer ready", style="green")
    elif done.error:
        text.append(f"✗ {done.stopped_by}: {fmt.one_line(done.error, 80)}", style="red")
    else:
        text.append(f"◼ stopped by {done.stopped_by} (partial answer)", style="yellow")
    failed = f" ({run.failed_calls} failed)" if run.failed_calls else ""
    text.append(
        f" · {fmt.duration(max(0.0, elapsed))} · {fmt.count(len(run.turns), 'turn')} · "
        f"{fmt.count(run.sub_calls, 'sub-call')}{failed}\n",
    )
    usage = done.usage if done else run.usage.as_dict()
    parts = []
    for name in ROLES:
        part = Usage.of(usage.get(name))
        if name == "root" or part.tokens:
            priced = part.tokens and part.cost_usd is not None
            parts.append(f"{name} {fmt.tokens(part.tokens)} tok" + (f" {fmt.cost(part.cost_usd)}" if priced else ""))
        if part.tokens and part.cost_usd is None:
            parts.append("cost unknown")
    parts.extend(filter(None, [fmt.cache_savings(usage)]))
    text.append(" · ".join(dict.fromkeys(parts)), style="dim")  # "cost unknown" once
    served = fmt.deployments(usage)
    if served:
        text.append(f"\n{served}", style="dim")
    return text


def _root_label(run: Run) -> Text:
    start = run.started
    text = Text(fmt.one_line(start.question, 200), style="bold")
    models = f"model {start.model}"
    if start.sub_model and start.sub_model != start.model:
        models += f" · sub {start.sub_model}"
    if start.max_depth > 1:
        models += f" · depth {start.max_depth}"
    data = start.input
    corpus = f"{fmt.count(int(data.get('documents', 0)), 'document')}, {fmt.nbytes(int(data.get('bytes', 0)))}"
    if data.get("skipped"):
        corpus += f", {data['skipped']} skipped"
    if start.sources:
        corpus += " · " + fmt.one_line(" ".join(start.sources), 50)
    text.append(f"\n{models}\n{corpus}", style="dim")
    return text


def _fill_run(node: Tree, run: Run, view: View) -> None:
    turns = run.turns
    full_from = 0 if view.final else max(0, len(turns) - LIVE_TURNS)
    folded = turns[:full_from]
    if len(folded) > FOLDED_TURNS:
        node.add(Text(f"… {len(folded) - FOLDED_TURNS} earlier turns", style="dim"))
        folded = folded[-FOLDED_TURNS:]
    for turn in folded:
        node.add(_folded_turn(turn))
    for turn in turns[full_from:]:
        _add_turn(node, turn, view)
    for item in run.loose:
        _add_item(node, item, view)
    if run.compactions:
        node.add(Text(f"history compacted ({fmt.count(run.compactions, 'time')})", style="dim"))
    for notice in run.notices[-3:]:
        node.add(Text(f"! {notice.message}", style="yellow" if notice.level != "info" else "dim"))
    if run.answer:
        _add_answer(node, run, view)


def _folded_turn(turn: Turn) -> Text:
    calls = sum(len(item.calls) if isinstance(item, Batch) else 1 for c in turn.cells for item in c.items)
    reply = turn.reply
    used = f" · {fmt.tokens(reply.prompt_tokens + reply.completion_tokens)} tok" if reply else ""
    cells = fmt.count(len(turn.cells), "cell")
    return Text(f"turn {turn.turn} · {cells} · {fmt.count(calls, 'sub-call')}{used}", style="dim")


def _add_turn(parent: Tree, turn: Turn, view: View) -> None:
    label = Text(f"turn {turn.turn}", style="bold")
    reply = turn.reply
    if reply is None:
        label.append(f" · waiting for the model {view.busy(turn.started)}", style="cyan")
    else:
        label.append(
            f" · {fmt.tokens(reply.prompt_tokens)} in, {fmt.tokens(reply.completion_tokens)} out · "
            f"{fmt.duration(reply.latency_s)}{fmt.priced(reply.cost_usd)}",
            style="dim",
        )
        if turn.retries:
            label.append(f" · retried {fmt.count(turn.retries, 'time')}", style="yellow")
    node = parent.add(label)
    if reply is None and turn.retry is not None:
        node.add(Text(retry_text(turn.retry), style="yellow"))
    for cell in turn.cells:
        _add_cell(node, cell, view)


def _add_cell(parent: Tree, cell: Cell, view: View) -> None:
    label = Text(f"cell {cell.cell}")
    done = cell.executed
    if done is None:
        label.append(f" running {view.busy(cell.started)}", style="cyan")
    elif done.timed_out:
        label.append(f" ✗ timed out after {fmt.duration(done.duration_s)}", style="red")
    elif done.error:
        label.append(f" ✗ error · {fmt.duration(done.duration_s)}", style="red")
    else:
        label.append(f" ✓ {fmt.duration(done.duration_s)}", style="green")
    if done is not None and done.restarted:
        label.append(" · REPL restarted", style="yellow")
    node = parent.add(label)
    node.add(_code(cell.code, view.verbose))
    for item in cell.items:
        _add_item(node, item, view)
    if done is not None:
        _add_output(node, done.output, done.output_chars, done.error, view)


def _code(code: str, verbose: bool) -> Text:
    lines = code.splitlines()
    keep = lines if verbose else lines[:CODE_LINES]
    text = _highlight("\n".join(keep))
    if len(keep) < len(lines):
        text = text.copy()
        text.append(f"\n… {len(lines) - len(keep)} more lines", style="dim")
    return text


@lru_cache(maxsize=256)
def _highlight(code: str) -> Text:
    # Lexing is the costliest part of a refresh, and a cell's code never changes: do it once.
    text = Syntax(code, "python", theme="ansi_dark", background_color="default").highlight(code)
    text.rstrip()
    text.no_wrap, text.overflow = True, "ellipsis"
    return text


def _add_output(parent: Tree, output: str, size: int, error: str | None, view: View) -> None:
    lines = output.splitlines()
    shape = f"{fmt.chars(size)} · {fmt.count(len(lines), 'line')}" if output else "none"
    label = Text(f"output · {shape}", style="dim")
    node = parent.add(label)
    head, tail, hidden = (lines, [], 0) if view.verbose else fmt.head_tail(lines, OUTPUT_HEAD, OUTPUT_TAIL)
    body = Text(no_wrap=not view.verbose, overflow="ellipsis")
    body.append("\n".join(head))
    if hidden:
        body.append(f"\n… {hidden} lines …", style="dim")
    if tail:
        body.append("\n" + "\n".join(tail))
    if lines:
        node.add(body)
    if error:
        shown = error.strip() if view.verbose else fmt.one_line(error.strip().splitlines()[-1], 200)
        node.add(Text(shown, style="red"))


def _add_item(parent: Tree, item: Batch | Call, view: View) -> None:
    if isinstance(item, Call):
        _add_call(parent, item, view, "rlm_query" if item.kind == "rlm" else "llm_query")
        return
    node = parent.add(batch_label(item, view))
    shown, hidden = pick_calls(item, view)
    for call in shown:
        _add_call(node, call, view, f"#{call.index}")
    if hidden:
        node.add(Text(f"… {hidden} more calls", style="dim"))


def _add_call(parent: Tree, call: Call, view: View, name: str) -> None:
    node = parent.add(call_label(call, view, name))
    if call.child is not None:
        child = call.child
        node.add(Text(f"child run · {fmt.one_line(child.started.question, 80)}", style="dim"))
        _fill_run(node, child, view)


def _add_answer(parent: Tree, run: Run, view: View) -> None:
    state = "ready" if run.ready else "draft"
    node = parent.add(Text(f"answer ({state}) · {fmt.chars(len(run.answer))}", style="bold green" if run.ready else "bold"))
    lines = run.answer.splitlines()
    keep = lines if view.verbose else lines[:ANSWER_LINES]
    text = Text("\n".join(keep), no_wrap=not view.verbose, overflow="ellipsis")
    if len(keep) < len(lines):
        text.append(f"\n… {len(lines) - len(keep)} more lines", style="dim")
    node.add(text)
