"""The sandbox's parts on their own: clipping, capture, sub-call serving, the worker's
environment, the bubblewrap command line, the audit policy's rules, mode resolution."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from rlm_cli.errors import SandboxError
from rlm_cli.sandbox import (
    CellResult,
    Sandbox,
    SandboxConfig,
    host,
    launch,
    repl,
    resolve_mode,
    session,
    worker,
)
from rlm_cli.sandbox.bwrap import bwrap_args
from rlm_cli.sandbox.calls import serve_call
from rlm_cli.sandbox.capture import CappedText
from rlm_cli.sandbox.libraries import CANDIDATES, available_libraries
from rlm_cli.sandbox.messages import Answer, Init
from rlm_cli.sandbox.policy import Policy
from rlm_cli.units import clip
from tests.unit.sandbox_helpers import FakeBroker

INIT = Init(None, 100, None, None, Answer(), {}, max_message=1 << 20)


def test_clip_keeps_short_text() -> None:
    assert clip("hello", 5) == "hello"


def test_clip_cuts_the_middle_and_states_the_true_length() -> None:
    text = "a" * 10 + "b" * 12_345_658 + "c" * 10
    clipped = clip(text, 20)
    assert clipped.startswith("a" * 10) and clipped.endswith("c" * 10)
    assert "[12,345,678 characters in all; 12,345,658 cut from the middle]" in clipped


def test_clip_states_the_length_before_capture() -> None:
    assert "[1,000 characters in all; 990 cut" in clip("x" * 100, 10, total=1000)


def test_capped_text_keeps_head_and_tail() -> None:
    stream = CappedText(10)
    for piece in ("01234", "56789", "abcde", "fghij"):
        stream.write(piece)
    assert stream.total == 20
    assert stream.getvalue() == "01234" + "\n... [20 characters in all; 10 cut from the middle] ...\n" + "fghij"
    small = CappedText(100)
    print("hi", file=small)
    assert small.getvalue() == "hi\n"


def test_for_model_labels_every_part() -> None:
    result = CellResult(stdout="out\n", stderr="warn", value_repr="3", error="boom", notice="careful",
                        stdout_chars=4, stderr_chars=4)
    assert result.for_model(100) == "out\n\n[stderr]\nwarn\n[value of the last expression]\n3\n[error]\nboom\n[note] careful"
    assert CellResult(notice="n").for_model(100) == "(no output: print() what you want to see)\n[note] n"


def test_serve_call_turns_broker_failures_into_replies() -> None:
    broker = FakeBroker()
    assert serve_call(broker, "llm_query", {"prompt": "q"}) == {"ok": True, "value": "answer to q"}
    assert serve_call(broker, "llm_query", {"prompt": "fail"})["ok"] is False
    assert serve_call(broker, "nope", {})["error"] == "ValueError: unknown sub-call 'nope'"
    broker.rule = lambda prompt: 3  # type: ignore[assignment, return-value]
    assert serve_call(broker, "llm_batch", {"prompts": ["a"]}) == {
        "ok": False, "error": "TypeError: the broker returned int, not str"}


def test_a_failed_batch_marks_each_item_as_the_broker_marks_failures() -> None:
    reply = serve_call(FakeBroker(), "llm_batch", {"prompts": ["a", "fail the whole batch"]})
    assert reply == {"ok": True, "value": ["Error: RuntimeError: batch refused"] * 2}


def test_host_and_worker_build_context_the_same_way(tmp_path: Path) -> None:
    assert worker.load_context is repl.load_context and host.load_context is repl.load_context
    assert repl.load_context(None) == ""
    (tmp_path / "a.txt").write_text("hello\n")
    manifest = tmp_path / "manifest.json"
    entry = {"path": "a.txt", "file": str(tmp_path / "a.txt"), "size": 6, "chars": 6}
    manifest.write_text(json.dumps({"version": 1, "documents": [entry]}))
    assert repl.load_context(str(manifest)).files == ["a.txt"]


def test_worker_env_keeps_only_harmless_variables() -> None:
    source = {"PATH": "/usr/bin", "LANG": "C.UTF-8", "LC_ALL": "C", "OPENAI_API_KEY": "k",
              "AWS_SECRET_ACCESS_KEY": "k", "GH_TOKEN": "k", "SSH_AUTH_SOCK": "/s", "HOME": "/root",
              "SSL_CERT_FILE": "/c", "HTTPS_PROXY": "http://user:pw@proxy"}
    env = launch.worker_env("/scratch", allow_net=False, source=source)
    assert env["HOME"] == env["TMPDIR"] == "/scratch"
    assert {"PATH", "LANG", "LC_ALL"} <= env.keys()
    assert not {"OPENAI_API_KEY", "AWS_SECRET_ACCESS_KEY", "GH_TOKEN", "SSH_AUTH_SOCK",
                "SSL_CERT_FILE", "HTTPS_PROXY"} & env.keys()
    assert "SSL_CERT_FILE" in launch.worker_env("/s", allow_net=True, source=source)
    assert env["PYTHONPATH"].split(os.pathsep)[0] == launch.PACKAGE_ROOT


def test_bwrap_args_mount_only_what_is_needed(tmp_path: Path) -> None:
    scratch, corpus, home = tmp_path / "scratch", tmp_path / "corpus", Path.home()
    scratch.mkdir()
    corpus.mkdir()
    args = bwrap_args(str(scratch), [str(corpus), str(corpus / "sub")], [str(scratch)], allow_net=False)
    assert "--unshare-all" in args and "--share-net" not in args
    assert args[args.index("--bind") + 1:args.index("--bind") + 3] == [str(scratch), str(scratch)]
    assert args.count(str(corpus)) == 2 and str(corpus / "sub") not in args
    assert str(home) not in args
    assert args[-2:] == ["--remount-ro", "/"]
    assert "--share-net" in bwrap_args(str(scratch), [], [str(scratch)], allow_net=True)


def test_policy_rules(tmp_path: Path) -> None:
    scratch, home = tmp_path / "scratch", tmp_path / "home"
    policy = Policy(writable=[str(scratch)], readable=[str(home / "corpus")])
    policy("open", (str(scratch / "f"), "w", os.O_WRONLY))
    policy("open", (str(home / "corpus" / "a.txt"), "r", os.O_RDONLY))
    policy("open", ("/usr/lib/os-release", "r", os.O_RDONLY))
    policy("open", ("/etc/passwd", "r", os.O_RDONLY))
    policy("open", (3, "w", os.O_WRONLY))
    policy("sys._getframe", ())
    refused = [
        ("open", (str(home / "f"), None, os.O_WRONLY | os.O_CREAT)),
        ("open", (str(home / ".netrc"), "r", os.O_RDONLY)),
        ("open", (str(tmp_path / "sibling.txt"), "r", os.O_RDONLY)),  # beside the input: not shown
        ("open", ("/etc/hostname", "r", os.O_RDONLY)),  # /etc holds only what bubblewrap shows
        ("os.listdir", ("/",)),
        ("os.rename", (str(scratch / "a"), "/etc/passwd", None, None)),
        ("os.listdir", (str(home),)),
        ("open", ("/proc/1/environ", "rb", os.O_RDONLY)),
        ("socket.__new__", (None, socket.AF_INET, socket.SOCK_STREAM, 0)),
        ("socket.getaddrinfo", ("example.com", 80, 0, 0, 0)),
        ("subprocess.Popen", ("true", ["true"], None, None)),
        ("os.kill", (1, 15)),
    ]
    for event, args in refused:
        with pytest.raises(PermissionError):
            policy(event, args)
    policy("socket.__new__", (None, socket.AF_UNIX, socket.SOCK_STREAM, 0))
    policy("os.kill", (os.getpid(), 0))
    Policy(writable=[str(scratch)], allow_net=True)("socket.connect", (None, ("127.0.0.1", 80)))


def test_symlinks_do_not_lead_writes_out(tmp_path: Path) -> None:
    scratch, outside = tmp_path / "scratch", tmp_path / "outside"
    scratch.mkdir()
    outside.mkdir()
    (scratch / "link").symlink_to(outside)
    with pytest.raises(PermissionError):
        Policy(writable=[str(scratch)])("open", (str(scratch / "link" / "f"), "w", os.O_WRONLY))


def test_resolve_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_mode("process") == "process"
    assert resolve_mode("none") == "none"
    with pytest.raises(SandboxError, match="unknown sandbox mode"):
        resolve_mode("docker")
    monkeypatch.setattr(launch, "_bwrap_problem", lambda: "no user namespaces")
    assert resolve_mode("auto") == "process"
    with pytest.raises(SandboxError, match="bubblewrap cannot run the REPL here: no user namespaces") as caught:
        resolve_mode("bwrap")
    assert caught.value.hint is not None and "--sandbox process" in caught.value.hint


def test_none_mode_runs_in_this_process() -> None:
    broker = FakeBroker()
    with Sandbox(SandboxConfig(mode="none", cell_timeout=0.5), broker) as sandbox:
        assert sandbox.mode == "none"
        result = sandbox.execute("import os\nx = llm_batch(['a'])\nos.getpid()")
        assert result.value_repr == str(os.getpid())
        assert sandbox.execute("x").value_repr == "['answer to a']"
        assert sandbox.execute("while True:\n    pass").timed_out
        assert sandbox.execute("FINAL('done')").answer == {"content": "done", "ready": True}
        with pytest.raises(KeyboardInterrupt):  # Ctrl-C in a cell reaches the caller
            sandbox.execute("answer['content'] = 'partial'\nraise KeyboardInterrupt")
        assert sandbox.answer["content"] == "partial"


def test_available_libraries_lists_only_known_names() -> None:
    found = available_libraries()
    assert found == [name for name in CANDIDATES.values() if name in found]


@pytest.mark.parametrize(
    ("failure", "raised"), [(OSError("no such file"), SandboxError), (RuntimeError("bad argv"), RuntimeError)]
)
def test_a_worker_that_cannot_be_spawned_leaves_no_descriptor_open(
    monkeypatch: pytest.MonkeyPatch, failure: BaseException, raised: type[BaseException]
) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise failure

    monkeypatch.setattr(session.subprocess, "Popen", refuse)
    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(raised) as caught:
        session.WorkerSession(lambda fd: ["worker"], {}, "/", INIT, FakeBroker(), 1.0, lambda pid: None)
    # `caught` keeps the half-built session alive, so nothing here was closed by collection
    assert set(os.listdir("/proc/self/fd")) == before, caught.value
