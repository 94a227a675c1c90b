"""s3:// and http(s):// sources through fsspec: objects streamed into the spool, prefixes walked
with the rules of a directory walk. Against moto's S3 server and a web server on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rlm_cli.errors import InputError
from tests.fakes.objectstore import BUCKET, FakeS3, log_file, web_server
from tests.unit.ingest_helpers import run, write_tree


@pytest.fixture(scope="module")
def server() -> Iterator[FakeS3]:
    with FakeS3() as s3:
        yield s3


@pytest.fixture
def s3(server: FakeS3, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeS3]:
    """The server with an empty bucket; credentials and endpoint where boto looks for them."""
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    yield server
    server.clear()


def test_an_object_is_streamed_into_the_spool_and_shown_by_its_url(tmp_path: Path, s3: FakeS3) -> None:
    url = s3.put("logs/app.log", "ERROR 03:12 disk quota exceeded\n")
    result = run([url], tmp_path)
    assert result.corpus.files == [url]
    assert result.corpus.read(url) == "ERROR 03:12 disk quota exceeded\n"
    assert result.roots == (str(tmp_path / "spool"),)  # the sandbox reads the spool, nothing else


def test_a_prefix_is_walked_with_the_skip_reasons_of_a_local_walk(tmp_path: Path, s3: FakeS3) -> None:
    for key, data in {
        "logs/a.log": "alpha\n", "logs/sub/b.log": "beta\n", "logs/.gitignore": "*.tmp\nold/\n",
        "logs/sub/.gitignore": "!keep.tmp\n", "logs/sub/keep.tmp": "kept\n", "logs/x.tmp": "scratch\n",
        "logs/old/c.log": "old\n", "logs/.git/config": "[core]\n", "logs/.aws/credentials": "secret\n",
        "logs/big.log": "y" * 5000, "logs/blob.bin": b"\x00\x01\x02" * 100, "other/d.log": "not under the prefix\n",
    }.items():
        s3.put(key, data)
    prefix = f"s3://{BUCKET}/logs/"
    result = run([f"s3://{BUCKET}/logs"], tmp_path, max_file_size=1000)
    assert result.corpus.files == [prefix + name for name in (".gitignore", "a.log", "sub/.gitignore", "sub/b.log", "sub/keep.tmp")]
    assert result.corpus.read(prefix + "sub/b.log") == "beta\n"
    assert {item.path: item.reason for item in result.skipped} == {
        prefix + ".aws/": "credentials (name it as a source to read it)",
        prefix + ".git/": "version control",
        prefix + "big.log": "too large: 5,000 bytes over --max-file-size 1,000",
        prefix + "blob.bin": "binary",
        prefix + "old/": "ignored (.gitignore)",
        prefix + "x.tmp": "ignored (.gitignore)",
    }


def test_include_and_exclude_apply_to_a_prefix(tmp_path: Path, s3: FakeS3) -> None:
    for key in ("logs/a.log", "logs/b.txt", "logs/skip/c.log"):
        s3.put(key, "text\n")
    result = run([f"s3://{BUCKET}/logs/"], tmp_path, include=("*.log",), exclude=("skip/",))
    assert result.corpus.files == [f"s3://{BUCKET}/logs/a.log"]
    assert {item.path: item.reason for item in result.skipped} == {
        f"s3://{BUCKET}/logs/b.txt": "excluded (--include/--exclude)",
        f"s3://{BUCKET}/logs/skip/": "excluded (--exclude)",
    }


def test_a_missing_object_is_named(tmp_path: Path, s3: FakeS3) -> None:
    with pytest.raises(InputError, match=f"no such file or directory: s3://{BUCKET}/nothing.log"):
        run([f"s3://{BUCKET}/nothing.log"], tmp_path)


def test_the_runs_timeout_stops_a_download(tmp_path: Path, s3: FakeS3) -> None:
    url = s3.put("logs/app.log", "x" * 1024 * 1024)
    with pytest.raises(InputError, match=f"--timeout 0.001 s passed while downloading {url}"):
        run([url], tmp_path, timeout=0.001)


def test_a_backend_failure_is_one_clear_error(tmp_path: Path, s3: FakeS3, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(InputError, match=f"cannot read s3://{BUCKET}/a.log: ") as failure:
        run([f"s3://{BUCKET}/a.log"], tmp_path)
    assert failure.value.hint and "AWS_" in failure.value.hint


def test_a_missing_backend_names_the_extra_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fsspec

    def missing(protocol: str) -> None:
        raise ImportError(f"Install s3fs to access {protocol}")

    monkeypatch.setattr(fsspec, "get_filesystem_class", missing)
    with pytest.raises(InputError, match="needs fsspec and s3fs") as failure:
        run([f"s3://{BUCKET}/a.log"], tmp_path)
    assert failure.value.hint == "install the extra: pip install 'rlm-cli[remote]'"


def test_an_https_file_is_downloaded_and_credentials_in_its_url_are_not_shown(tmp_path: Path) -> None:
    write_tree(tmp_path / "site", {"app.log": "served over http\n"})
    with web_server(tmp_path / "site") as base:
        url = base.replace("http://", "http://user:hunter2secret@") + "/app.log"
        result = run([url], tmp_path)
    assert result.corpus.files == [base + "/app.log"]
    assert result.corpus.read(base + "/app.log") == "served over http\n"


# The measured process imports and ingests; its own peak resident set (VmHWM) is compared with
# the same ingest of a tiny object. The big object is mapped past the threshold, as a 5 GB one is.
_MEASURE = """
import json, sys, tempfile
from pathlib import Path
from rlm_cli.ingest import IngestOptions, ingest
result = ingest([sys.argv[1]], IngestOptions(mmap_threshold=1024 * 1024), spool_dir=Path(tempfile.mkdtemp()))
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"bytes": result.summary()["bytes"], "peak_kib": peak}))
"""


def test_a_large_object_is_streamed_with_bounded_memory(tmp_path: Path, s3: FakeS3) -> None:
    size = 32 * 1024 * 1024
    big = s3.upload("big.log", log_file(tmp_path / "big.log", size))
    tiny = s3.put("tiny.log", "one line\n")

    def measure(url: str) -> dict[str, int]:
        env = {**s3.env, "PYTHONPATH": str(Path(__file__).parents[2])}
        done = subprocess.run([sys.executable, "-c", _MEASURE, url], capture_output=True, text=True, env=env, timeout=120, check=True)
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    baseline, streamed = measure(tiny), measure(big)
    assert streamed["bytes"] == (tmp_path / "big.log").stat().st_size >= size
    grew = (streamed["peak_kib"] - baseline["peak_kib"]) * 1024
    assert grew < size // 8, f"peak memory grew by {grew:,} bytes for a {size:,}-byte object"
