"""`rlm mcp` driven by the MCP SDK's own stdio client, against the scripted fake provider."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.e2e.helpers import FAKE_KEY, rlm
from tests.fakes.provider import FakeProvider, Reply, Request, code, script

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The server's root: a few notes, and a secret beside it that must stay out of reach."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "notes.txt").write_text("".join(f"note {n}: all quiet\n" for n in range(300)), encoding="utf-8")
    (tmp_path / "secret.txt").write_text("the secret\n", encoding="utf-8")
    return root


@asynccontextmanager
async def connect(provider: FakeProvider, root: Path) -> AsyncIterator[tuple[ClientSession, int]]:
    """An initialised client session with `rlm mcp --root ROOT`, and the server's pid."""
    env = {**os.environ, "OPENAI_API_KEY": FAKE_KEY, "RLM_MODEL": "openai/root", "RLM_SUB_MODEL": "openai/sub",
           "RLM_API_BASE": provider.url, "RLM_RETRY_BASE_DELAY": "0.01"}
    params = StdioServerParameters(command=sys.executable, args=["-m", "rlm_cli", "mcp", "--root", str(root)], env=env, cwd=root)
    before = set(children_of(os.getpid()))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        (server,) = set(children_of(os.getpid())) - before
        yield session, server


async def test_lists_ask_and_describe_with_described_arguments(provider: FakeProvider, project: Path) -> None:
    async with connect(provider, project) as (session, _):
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(tools) == {"ask", "describe", "follow_up"}
    schema = tools["ask"].input_schema
    assert schema["required"] == ["sources", "question"]
    assert all(field.get("description") for field in schema["properties"].values())
    assert not {"sandbox", "allow_net", "allow_write", "api_base"} & set(schema["properties"])
    assert "without calling any model" in (tools["describe"].description or "")


async def test_ask_returns_the_answer_and_usage_and_reports_progress_of_a_fan_out(provider: FakeProvider, project: Path) -> None:
    provider.root_script = script(
        code("found = llm_batch([f'anything odd? {c}' for c in context.chunks(1000)])", "print(len(found))"),
        code("FINAL(f'{len(found)} pieces read')"),
    )
    progress: list[tuple[float, str]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, message or ""))

    async with connect(provider, project) as (session, _):
        result = await session.call_tool("ask", {"sources": ["notes.txt"], "question": "anything odd?"}, progress_callback=on_progress)
    assert not result.is_error, result.content
    answer = result.structured_content
    assert answer is not None
    pieces = len(provider.sub_requests())
    assert answer["answer"] == f"{pieces} pieces read" and pieces > 1
    assert answer["ready"] is True and answer["stopped_by"] == "answer" and answer["sub_calls"] == pieces
    assert answer["usage"]["total"]["prompt_tokens"] > 0 and answer["run_id"]
    assert [value for value, _ in progress] == sorted({value for value, _ in progress})  # rising
    during = [message for _, message in progress if "sub-calls of the batch done" in message]
    assert len(during) == pieces and f"{pieces}/{pieces} sub-calls of the batch done" in during[-1]
    assert "turn 1/30" in during[0] and "finished: stopped by answer" in progress[-1][1]


async def test_a_call_can_tighten_the_budgets_but_not_loosen_them(provider: FakeProvider, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLM_MAX_ITERATIONS", "2")  # the server's own setting
    provider.root_script = script(code("print('looking')"))  # never answers
    async with connect(provider, project) as (session, _):
        result = await session.call_tool("ask", {"sources": ["notes.txt"], "question": "q?", "max_iterations": 50})
    assert not result.is_error, result.content
    answer = result.structured_content
    assert answer is not None
    assert answer["stopped_by"] == "max_iterations" and answer["iterations"] == 2 and answer["ready"] is False
    assert answer["answer"] == "best answer under the limit" and answer["exit_code"] == 3


async def test_cancelling_a_call_stops_the_run_and_its_worker(provider: FakeProvider, project: Path, isolated_env: Path) -> None:
    provider.root_script = script(code("import time", "time.sleep(600)"))
    async with connect(provider, project) as (session, server):
        running = anyio.Event()

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            if "running code" in (message or ""):
                running.set()

        async with anyio.create_task_group() as group:
            group.start_soon(session.call_tool, "ask", {"sources": ["notes.txt"], "question": "q?"}, None, on_progress)
            with anyio.fail_after(60):
                await running.wait()
            run_processes = set(descendants(server))
            assert len(run_processes) >= 2  # the run's process and its REPL worker
            group.cancel_scope.cancel()  # the client gives up: notifications/cancelled
        await wait_for(lambda: not run_processes & set(descendants(server)))
        assert server in children_of(os.getpid())  # the server lives on and still answers
        assert len((await session.list_tools()).tools) == 3
    (trace,) = (isolated_env / "state" / "rlm" / "runs").glob("*.jsonl")
    finished = json.loads(trace.read_text().splitlines()[-1])  # stopped as on Ctrl-C, not killed
    assert finished["event"] == "RunFinished" and finished["stopped_by"] == "interrupt"


async def test_paths_outside_the_root_are_refused(provider: FakeProvider, project: Path, tmp_path: Path) -> None:
    (project / "link.txt").symlink_to(tmp_path / "secret.txt")
    async with connect(provider, project) as (session, _):
        for sources in (["../secret.txt"], [str(tmp_path / "secret.txt")], ["link.txt"], ["*.txt"], ["-"]):
            result = await session.call_tool("ask", {"sources": sources, "question": "what is the secret?"})
            assert result.is_error, sources
            text = result.content[0].text  # type: ignore[union-attr]
            assert "outside the server's root" in text or "is not a path" in text
    assert provider.requests == []  # refused before any model was asked


async def test_walks_never_follow_links_out_of_the_root(provider: FakeProvider, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLM_FOLLOW_LINKS", "true")  # the server's settings say follow; the root says no
    (project / "docs").mkdir()
    (project / "docs" / "readme.txt").write_text("hello\n", encoding="utf-8")
    (project / "docs" / "leak.txt").symlink_to(tmp_path / "secret.txt")
    async with connect(provider, project) as (session, _):
        result = await session.call_tool("describe", {"sources": ["docs"]})
    assert not result.is_error, result.content
    assert result.structured_content is not None
    assert (result.structured_content["documents"], result.structured_content["skipped"]) == (1, 1)


async def test_bad_arguments_are_tool_errors_and_the_server_goes_on(provider: FakeProvider, project: Path) -> None:
    async with connect(provider, project) as (session, _):
        for arguments in ({"sources": ["notes.txt"]}, {"sources": [], "question": "q?"},
                          {"sources": ["notes.txt"], "question": "q?", "max_cost": "lots"},
                          {"sources": ["notes.txt"], "question": "q?", "max_iterations": 0},
                          {"sources": ["missing.txt"], "question": "q?"}):
            result = await session.call_tool("ask", arguments)
            assert result.is_error, arguments
        # A source that looks like a flag is a path still: the sandbox cannot be loosened this way.
        flag = await session.call_tool("ask", {"sources": ["--allow-net"], "question": "--sandbox=none"})
        assert flag.is_error and "--allow-net" in flag.content[0].text  # type: ignore[union-attr]
        described = await session.call_tool("describe", {"sources": ["notes.txt"]})
    assert not described.is_error, described.content
    assert described.structured_content is not None
    assert described.structured_content["documents"] == 1 and described.structured_content["bytes"] > 0
    assert provider.requests == []


def children_of(pid: int) -> list[int]:
    """The live processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`."""
    found, queue = [], [pid]
    while queue:
        children = children_of(queue.pop())
        found += children
        queue += children
    return found


async def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    """Poll a condition until it holds."""
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.05)




async def test_follow_up_continues_an_earlier_run_inside_the_root_only(provider: FakeProvider, project: Path, tmp_path: Path) -> None:
    def root(request: Request) -> Reply:
        follow = "again?" in str(request.messages[1]["content"])
        turns = [code("print(len(notes))"), code("FINAL(f'{len(notes)} notes, before: {answer[\"content\"]}')")] if follow else [
            code("notes = context.grep('note')", "print(len(notes))"), code("FINAL(f'{len(notes)} notes')")]
        return turns[min(request.turn, len(turns) - 1)]

    provider.root_script = root
    outside = tmp_path / "outside.txt"
    outside.write_text("note 1\n", encoding="utf-8")
    done = rlm(["ask", str(outside), "how many?", "--model", "openai/root", "--api-base", provider.url, "--json"])
    assert done.returncode == 0, done.stderr
    elsewhere = json.loads(done.stdout)["run_id"]
    async with connect(provider, project) as (session, _):
        first = await session.call_tool("ask", {"sources": ["notes.txt"], "question": "how many?"})
        assert first.structured_content is not None and first.structured_content["answer"] == "300 notes"
        again = await session.call_tool("follow_up", {"run_id": first.structured_content["run_id"], "question": "again?"})
        assert not again.is_error, again.content
        assert again.structured_content is not None
        assert again.structured_content["answer"] == "300 notes, before: 300 notes"
        refused = await session.call_tool("follow_up", {"run_id": elsewhere, "question": "again?"})
    assert refused.is_error and "outside the server's root" in refused.content[0].text  # type: ignore[union-attr]
