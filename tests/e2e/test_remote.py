"""End to end: `rlm ask` on a git URL, an s3:// prefix and an http:// file, against local servers."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import model_flags, rlm
from tests.fakes.objectstore import BUCKET, FakeS3, web_server
from tests.fakes.provider import FakeProvider, code, script


@pytest.fixture
def repository(tmp_path: Path) -> str:
    """A bare repository: tag v1 says "one", main says "two"."""
    work = tmp_path / "work"
    work.mkdir()
    commit = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for version in ("one", "two"):
        (work / "VERSION").write_text(version + "\n", encoding="utf-8")
        subprocess.run(["git", "init", "-q"] if version == "one" else ["true"], cwd=work, check=True)
        subprocess.run(["git", "add", "."], cwd=work, check=True)
        subprocess.run([*commit, "commit", "-qm", version], cwd=work, check=True)
        if version == "one":
            subprocess.run(["git", "tag", "v1"], cwd=work, check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(tmp_path / "tool.git")], check=True)
    shutil.rmtree(work)
    return (tmp_path / "tool.git").as_uri()


def read_version(provider: FakeProvider) -> None:
    provider.root_script = script(code("print(context.files)"), code("FINAL(context.files[0] + ': ' + context.read(context.files[0]).strip())"))


@pytest.mark.parametrize(("flags", "said"), [([], "tool/VERSION: two"), (["--ref", "v1"], "tool/VERSION: one")])
def test_a_git_url_is_asked_about_like_a_folder(provider: FakeProvider, repository: str, tmp_path: Path, flags: list[str], said: str) -> None:
    read_version(provider)
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    done = rlm(["ask", repository, "which version?", *flags, *model_flags(provider)], env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == said + "\n"


def test_a_failed_clone_is_exit_2_with_a_hint(tmp_path: Path) -> None:
    url = (tmp_path / "gone.git").as_uri()
    done = rlm(["ask", url, "q?", "--model", "openai/root", "--api-base", "http://127.0.0.1:9/v1"], env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert done.returncode == 2
    first, hint = done.stderr.strip().splitlines()[-2:]
    assert first.startswith(f"rlm: error: git failed listing {url}: ") and "does not appear to be a git repository" in first
    assert "--ref" in hint and "Traceback" not in done.stderr


@pytest.fixture
def s3() -> Iterator[FakeS3]:
    with FakeS3() as server:
        yield server


def test_an_s3_prefix_is_read_and_cited_by_its_urls(provider: FakeProvider, s3: FakeS3) -> None:
    for day in range(3):
        s3.put(f"logs/day{day}.log", "".join(f"INFO request {n}\n" for n in range(20)) + ("ERROR deploy failed: quota\n" if day == 2 else ""))
    provider.root_script = script(
        code("hit = context.grep('ERROR')[0]", "print(hit.path, hit.line_no)"),
        code("FINAL(f'{hit.path}:{hit.line_no}')"),
    )
    done = rlm(["ask", f"s3://{BUCKET}/logs/", "why did the deploy fail?", "--json", *model_flags(provider)], env=s3.env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["answer"] == f"s3://{BUCKET}/logs/day2.log:21"
    assert result["input"]["documents"] == 3


def test_credentials_in_a_url_stay_out_of_the_trace_and_the_output(provider: FakeProvider, tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "app.log").write_text("served\n", encoding="utf-8")
    read_version(provider)
    trace = tmp_path / "trace.jsonl"
    with web_server(tmp_path / "site") as base:
        url = base.replace("http://", "http://deploy:tok-9f8e7d6c5b4a@") + "/app.log"
        done = rlm(["ask", url, "what is served?", "--events", "--trace", str(trace), *model_flags(provider)])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["answer"] == base + "/app.log: served"
    recorded = trace.read_text(encoding="utf-8")
    assert base + "/app.log" in recorded  # the source is recorded, without its credentials
    for text in (recorded, done.stdout, done.stderr, json.dumps([r.body for r in provider.root_requests()])):
        assert "tok-9f8e7d6c5b4a" not in text
