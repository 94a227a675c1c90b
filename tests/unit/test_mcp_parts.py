"""The parts of `rlm mcp` that need no client: the root check, budget tightening, progress."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rlm_cli.errors import InputError
from rlm_cli.mcp.limits import budget_flags, tightened
from rlm_cli.mcp.paths import SourceRoot
from rlm_cli.mcp.progress import RunProgress
from rlm_cli.settings import Settings


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A root with files and directories in it, and a secret beside it."""
    project = tmp_path / "project"
    (project / "src" / "deep").mkdir(parents=True)
    (project / "a.txt").write_text("a")
    (project / "src" / "b.py").write_text("b")
    (project / "src" / "deep" / "c.py").write_text("c")
    (tmp_path / "secret.txt").write_text("s")
    (tmp_path / "outside").mkdir()
    return project


def test_paths_under_the_root_are_kept_as_named(root: Path) -> None:
    checked = SourceRoot(root).check(["a.txt", "src", str(root / "src" / "b.py"), "src/../a.txt"])
    assert checked == ["a.txt", "src", str(root / "src" / "b.py"), "src/../a.txt"]


def test_globs_are_expanded_under_the_root(root: Path) -> None:
    assert SourceRoot(root).check(["src/**/*.py"]) == ["src/b.py", "src/deep/c.py"]


@pytest.mark.parametrize("source", ["../secret.txt", "src/../../secret.txt", "{tmp}/secret.txt", "..", "/etc/passwd"])
def test_paths_outside_the_root_are_refused(root: Path, source: str) -> None:
    with pytest.raises(InputError, match="outside the server's root") as refused:
        SourceRoot(root).check(["a.txt", source.format(tmp=root.parent)])
    assert refused.value.hint and "--root" in refused.value.hint


def test_links_out_of_the_root_are_refused_named_or_globbed(root: Path) -> None:
    (root / "leak.txt").symlink_to(root.parent / "secret.txt")
    (root / "src" / "out").symlink_to(root.parent / "outside")
    source_root = SourceRoot(root)
    for sources in (["leak.txt"], ["*.txt"], ["src/out"], ["src/out/x.txt"]):
        with pytest.raises(InputError, match=r"outside the server's root.*it leads to"):
            source_root.check(sources)
    (root / "inner").symlink_to(root / "src")
    assert source_root.check(["inner/b.py"]) == ["inner/b.py"]  # a link that stays inside is fine


@pytest.mark.parametrize("source", ["-", "", "   "])
def test_stdin_and_empty_sources_are_refused(root: Path, source: str) -> None:
    with pytest.raises(InputError, match="is not a path"):
        SourceRoot(root).check([source])


def test_a_glob_matching_nothing_is_refused(root: Path) -> None:
    with pytest.raises(InputError, match=r"nothing under .* matches \*\.pdf"):
        SourceRoot(root).check(["*.pdf"])


def test_the_root_must_be_a_directory(root: Path) -> None:
    with pytest.raises(InputError, match="not a directory"):
        SourceRoot(root / "a.txt")


def test_budgets_can_only_be_tightened() -> None:
    settings = Settings(max_iterations=30, max_cost=1.0, max_sub_calls=None, timeout=600)
    asked = {"max_iterations": 50, "max_cost": 0.25, "max_sub_calls": 1000, "max_tokens": None, "timeout": 900.0}
    assert tightened(settings, asked) == {"max_iterations": 30, "max_cost": 0.25, "max_sub_calls": 1000, "timeout": 600}
    assert budget_flags({"max_cost": 0.25, "max_sub_calls": 1000}) == ["--max-cost", "0.25", "--max-sub-calls", "1000"]
    with pytest.raises(ValueError, match="not a budget"):
        tightened(settings, {"cell_timeout": 1.0})


def test_progress_follows_turns_and_the_fan_out() -> None:
    progress = RunProgress()
    events = [
        {"event": "RunStarted", "run_id": "r", "budgets": {"max_iterations": 5}, "input": {"documents": 3, "bytes": 2048}},
        {"event": "TurnStarted", "run_id": "r", "turn": 1},
        {"event": "ModelReplied", "run_id": "r", "prompt_tokens": 100, "completion_tokens": 20, "cost_usd": 0.01},
        {"event": "CellStarted", "run_id": "r", "turn": 1, "cell": 1},
        {"event": "BatchStarted", "run_id": "r", "batch_id": "b", "size": 2},
        {"event": "SubcallFinished", "run_id": "r", "batch_id": "b", "prompt_tokens": 10, "completion_tokens": 5, "cost_usd": 0.002},
        {"event": "SubcallFinished", "run_id": "r", "batch_id": "b", "prompt_tokens": 10, "completion_tokens": 5, "cost_usd": None},
        {"event": "BatchFinished", "run_id": "r", "batch_id": "b"},
        {"event": "CellExecuted", "run_id": "r", "turn": 1, "cell": 1},
        {"event": "RunFinished", "run_id": "r", "stopped_by": "answer"},
    ]
    reports = [report for event in events if (report := progress.update(event)) is not None]
    assert [report.step for report in reports] == list(range(1, len(reports) + 1))
    messages = [report.message for report in reports]
    assert messages[0].startswith("turn 0/5 · started: 3 documents, 2,048 bytes")
    assert "turn 1/5 · 1/2 sub-calls of the batch done · 1 sub-calls · 135 tokens · $0.0120" in messages
    assert messages[-1] == "turn 1/5 · finished: stopped by answer · 2 sub-calls · 150 tokens · cost unknown"


def test_the_command_without_the_sdk_names_the_extra(tmp_path: Path) -> None:
    code = "import sys; sys.modules['mcp'] = None; sys.argv = ['rlm', 'mcp']; from rlm_cli.cli import main; main()"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=False, timeout=60)
    assert done.returncode == 4
    assert "rlm: error: `rlm mcp` needs the MCP SDK" in done.stderr and "pip install 'rlm-cli[mcp]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_root_that_is_no_directory_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "rlm_cli", "mcp", "--root", str(tmp_path / "nowhere")],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False, timeout=60)
    assert done.returncode == 2 and "rlm: error: --root" in done.stderr and "not a directory" in done.stderr


def test_tool_call_runs_leave_a_warm_process_unless_it_is_turned_off(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rlm_cli.mcp.child import child_env

    monkeypatch.delenv("RLM_WARM")
    assert child_env()["RLM_WARM"] == "300"  # given explicitly: no terminal watches an agent's runs
    config = isolated_env / "config" / "rlm" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("warm = 0\n")
    assert child_env()["RLM_WARM"] == "0"  # the user's config file turns it off
    monkeypatch.setenv("RLM_WARM", "45")
    assert child_env()["RLM_WARM"] == "45"
    config.write_text("warm = 'soon'\n")
    monkeypatch.delenv("RLM_WARM")
    assert "RLM_WARM" not in child_env()  # a bad setting is the child's to report
