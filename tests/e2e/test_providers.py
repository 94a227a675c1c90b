"""End to end: two fake providers on two ports (OpenAI-style and Anthropic-style), and the keys.

Checks which key reached which server, that a missing key stops the run before any call, that
the root's --api-base never carries the sub-model's traffic, and where keys are found.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import forkserver
from tests.e2e.helpers import FAKE_KEY
from tests.fakes.provider import FakeProvider, code, script

ANTHROPIC_KEY = "sk-ant-test-0987654321-only-for-anthropic"
SUB_MODEL = "anthropic/claude-haiku-4-5"
KEY_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "ANTHROPIC_API_BASE", "ANTHROPIC_BASE_URL", "GEMINI_API_KEY")


@pytest.fixture
def local() -> Iterator[FakeProvider]:
    """The root model's OpenAI-compatible server; its script asks the sub-model once."""
    with FakeProvider() as server:
        server.root_script = script(code("reply = llm_query('count the errors')", "print(reply)"), code("FINAL(reply)"))
        yield server


@pytest.fixture
def anthropic() -> Iterator[FakeProvider]:
    """The sub-model's server, speaking Anthropic's Messages API."""
    with FakeProvider(api="anthropic") as server:
        server.sub_rule = lambda request: "3 errors"
        yield server


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A working directory with one input file (and a place for a .env)."""
    (tmp_path / "app.log").write_text("ERROR a\nERROR b\nINFO c\nERROR d\n", encoding="utf-8")
    return tmp_path


def clean_env(**values: str) -> dict[str, str]:
    """The test's environment without any provider key, plus `values`."""
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
    return {**env, "NO_COLOR": "1", **values}


def ask(local: FakeProvider, *extra: str) -> list[str]:
    """`rlm ask` arguments: the root on `local`, the sub-model on Anthropic."""
    return ["ask", "app.log", "how many errors?", "-m", "openai/root", "--api-base", local.url, "--sub-model", SUB_MODEL, *extra]


def run(args: list[str], workdir: Path, env: dict[str, str], input: str = "") -> tuple[int, str, str]:
    """Run `rlm ARGS` in `workdir` with exactly `env` (tests/e2e/helpers.rlm would add a key)."""
    done = forkserver.run(args, input=input, env=env, cwd=workdir, timeout=60)
    return done.returncode, done.stdout, done.stderr


def assert_keys_stayed_home(local: FakeProvider, anthropic: FakeProvider, openai_key: str | None, anthropic_key: str) -> None:
    """Each server got only its own route and its own key: Bearer locally, x-api-key at Anthropic."""
    assert local.requests and anthropic.requests
    for request in local.requests:
        assert request.path.endswith("/chat/completions") and local.is_root(request)
        assert "x-api-key" not in request.headers
        assert anthropic_key not in json.dumps(request.headers)
        if openai_key:
            assert request.headers["authorization"] == f"Bearer {openai_key}"
    for request in anthropic.requests:
        assert request.path == "/v1/messages"
        assert request.headers["x-api-key"] == anthropic_key
        assert "authorization" not in request.headers


def test_each_key_goes_only_to_its_own_provider(local: FakeProvider, anthropic: FakeProvider, workdir: Path) -> None:
    env = clean_env(OPENAI_API_KEY=FAKE_KEY, ANTHROPIC_API_KEY=ANTHROPIC_KEY)
    code_, out, err = run([*ask(local), "--sub-api-base", anthropic.url], workdir, env)
    assert code_ == 0, err
    assert out == "3 errors\n"
    assert [r.model for r in anthropic.requests] == ["claude-haiku-4-5"]
    assert_keys_stayed_home(local, anthropic, FAKE_KEY, ANTHROPIC_KEY)


def test_the_roots_api_base_never_carries_the_sub_models_traffic(local: FakeProvider, anthropic: FakeProvider, workdir: Path) -> None:
    # No --sub-api-base: the sub-model goes to its provider's own host, which LiteLLM reads from
    # ANTHROPIC_API_BASE (standing in for api.anthropic.com), never to --api-base. The local
    # server needs no key: a placeholder is sent there.
    env = clean_env(ANTHROPIC_API_KEY=ANTHROPIC_KEY, ANTHROPIC_API_BASE=anthropic.url)
    code_, out, err = run(ask(local), workdir, env)
    assert code_ == 0, err
    assert out == "3 errors\n"
    assert_keys_stayed_home(local, anthropic, None, ANTHROPIC_KEY)
    assert {r.headers["authorization"] for r in local.requests} == {"Bearer not-needed"}


def test_a_missing_sub_model_key_is_exit_4_before_any_call(local: FakeProvider, anthropic: FakeProvider, workdir: Path) -> None:
    env = clean_env(OPENAI_API_KEY=FAKE_KEY)
    code_, out, err = run([*ask(local), "--sub-api-base", anthropic.url, "--json"], workdir, env)
    assert code_ == 4
    assert json.loads(out)["error"] == f"missing API key for {SUB_MODEL}: set ANTHROPIC_API_KEY"
    assert "rlm keys set anthropic" in err and "Traceback" not in err
    assert local.requests == [] and anthropic.requests == []


@pytest.mark.parametrize(
    ("model", "message", "hint"),
    [
        ("opnai/gpt-5", "unknown provider 'opnai' in model 'opnai/gpt-5'", "did you mean openai/gpt-5?"),
        ("qwen2.5-coder", "model 'qwen2.5-coder' names no provider", "for an OpenAI-compatible server use openai/qwen2.5-coder"),
        ("openai/", "malformed model name 'openai/'", "write PROVIDER/MODEL"),
    ],
)
def test_an_unknown_provider_is_exit_4_with_a_hint(local: FakeProvider, workdir: Path, model: str, message: str, hint: str) -> None:
    env = clean_env(OPENAI_API_KEY=FAKE_KEY)
    code_, _, err = run(["ask", "app.log", "q?", "-m", model, "--api-base", local.url], workdir, env)
    assert code_ == 4
    lines = err.strip().splitlines()
    assert lines[-2] == f"rlm: error: {message}"
    assert lines[-1].startswith(f"hint: {hint}")
    assert local.requests == []


def test_a_stored_key_is_used_mode_0600_and_never_written_out(local: FakeProvider, anthropic: FakeProvider, workdir: Path, isolated_env: Path) -> None:
    env = clean_env(OPENAI_API_KEY=FAKE_KEY)
    code_, _, err = run(["keys", "set", "anthropic"], workdir, env, input=ANTHROPIC_KEY + "\n")
    assert code_ == 0, err
    path = isolated_env / "config" / "rlm" / "keys.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"anthropic": ANTHROPIC_KEY}
    assert ANTHROPIC_KEY not in err

    # The sub-model's reply quotes its key back: the trace and --json must not hold it.
    anthropic.sub_rule = lambda request: f"{request.headers['x-api-key']} 3 errors"
    trace = workdir / "trace.jsonl"
    code_, out, err = run([*ask(local), "--sub-api-base", anthropic.url, "--json", "--trace", str(trace)], workdir, env)
    assert code_ == 0, err
    assert_keys_stayed_home(local, anthropic, FAKE_KEY, ANTHROPIC_KEY)
    assert json.loads(out)["answer"] == "[redacted] 3 errors"
    assert ANTHROPIC_KEY not in out + trace.read_text()
    assert "[redacted] 3 errors" in trace.read_text()


def test_dotenv_supplies_keys_the_environment_wins_and_it_can_be_turned_off(local: FakeProvider, anthropic: FakeProvider, workdir: Path) -> None:
    (workdir / ".env").write_text(f"ANTHROPIC_API_KEY={ANTHROPIC_KEY}\nOPENAI_API_KEY=from-dotenv-not-used\n", encoding="utf-8")
    env = clean_env(OPENAI_API_KEY=FAKE_KEY)
    args = [*ask(local), "--sub-api-base", anthropic.url]
    code_, out, err = run(args, workdir, env)
    assert (code_, out) == (0, "3 errors\n"), err
    assert_keys_stayed_home(local, anthropic, FAKE_KEY, ANTHROPIC_KEY)

    local.requests.clear()
    anthropic.requests.clear()
    code_, _, err = run([*args, "--no-dotenv"], workdir, env)
    assert code_ == 4 and "ANTHROPIC_API_KEY" in err
    assert local.requests == [] and anthropic.requests == []


def test_keys_list_shows_where_each_key_comes_from_never_the_value(workdir: Path, isolated_env: Path) -> None:
    (workdir / ".env").write_text("GEMINI_API_KEY=gemini-secret-from-dotenv\n", encoding="utf-8")
    env = clean_env(OPENAI_API_KEY=FAKE_KEY)
    assert run(["keys", "set", "anthropic"], workdir, env, input=ANTHROPIC_KEY)[0] == 0
    code_, out, err = run(["keys", "list", "--json"], workdir, env)
    assert code_ == 0, err
    sources = {row["provider"]: (row["variable"], row["source"]) for row in json.loads(out)}
    assert sources["openai"] == ("OPENAI_API_KEY", "env")
    assert sources["gemini"] == ("GEMINI_API_KEY", ".env")
    assert sources["anthropic"] == ("ANTHROPIC_API_KEY", "keys file")
    assert sources["groq"] == ("GROQ_API_KEY", None)
    code_, out, _ = run(["keys", "list"], workdir, env)
    assert "openai        OPENAI_API_KEY         env\n" in out and "groq          GROQ_API_KEY           not set\n" in out
    assert not {FAKE_KEY, ANTHROPIC_KEY, "gemini-secret-from-dotenv"} & set(out.split())

    assert run(["keys", "unset", "anthropic"], workdir, env)[0] == 0
    _, out, _ = run(["keys", "list", "--json"], workdir, env)
    assert {row["provider"]: row["source"] for row in json.loads(out)}["anthropic"] is None
    _, out, _ = run(["keys", "path"], workdir, env)
    assert out.strip() == str(isolated_env / "config" / "rlm" / "keys.json")


def test_keys_set_refuses_an_unknown_provider_and_an_empty_key(workdir: Path, isolated_env: Path) -> None:
    env = clean_env()
    code_, _, err = run(["keys", "set", "antropic"], workdir, env, input="sk-x\n")
    assert code_ == 2 and "hint: did you mean anthropic?" in err
    code_, _, err = run(["keys", "set", "ollama"], workdir, env, input="sk-x\n")
    assert code_ == 2 and "ollama takes no API key" in err
    code_, _, err = run(["keys", "set", "openai"], workdir, env, input="\n")
    assert code_ == 2 and "no key given" in err
    assert not (isolated_env / "config" / "rlm" / "keys.json").exists()
