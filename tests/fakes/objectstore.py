"""A local S3-compatible server on 127.0.0.1 (moto's server mode) and a static web server, for
tests and benchmarks of remote sources. Nothing leaves the machine."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BUCKET = "rlm-test"


class FakeS3:
    """moto's S3 on a free port of 127.0.0.1, with one bucket; `env` points clients at it."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.env: dict[str, str] = {}
        self.client: Any = None

    def __enter__(self) -> FakeS3:
        import boto3

        self._server.start()
        host, port = self._server.get_host_and_port()
        self.env = {
            "AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "testing-key-id",
            "AWS_SECRET_ACCESS_KEY": "testing-secret-access-key", "AWS_DEFAULT_REGION": "us-east-1",
        }
        self.client = boto3.client(
            "s3", endpoint_url=self.env["AWS_ENDPOINT_URL"], region_name="us-east-1",
            aws_access_key_id="testing-key-id", aws_secret_access_key="testing-secret-access-key",
        )
        self.client.create_bucket(Bucket=BUCKET)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    def put(self, key: str, data: bytes | str) -> str:
        """Store an object; return its s3:// URL."""
        self.client.put_object(Bucket=BUCKET, Key=key, Body=data.encode() if isinstance(data, str) else data)
        return f"s3://{BUCKET}/{key}"

    def upload(self, key: str, path: Path) -> str:
        """Store a file in parts, never whole in this process's memory; return its s3:// URL."""
        self.client.upload_file(str(path), BUCKET, key)
        return f"s3://{BUCKET}/{key}"

    def clear(self) -> None:
        """Delete every object of the bucket."""
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            for item in page.get("Contents", []):
                self.client.delete_object(Bucket=BUCKET, Key=item["Key"])


@contextmanager
def web_server(root: Path) -> Iterator[str]:
    """Serve `root` over plain HTTP on 127.0.0.1; yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def log_file(path: Path, size: int, needle: str = "") -> Path:
    """A text log of about `size` bytes, written in blocks; `needle` as its middle line."""
    line = b"2026-01-01 00:00:00 INFO request served in 12 ms, nothing to report here\n"
    block = line * (1024 * 1024 // len(line))
    with path.open("wb") as out:
        written = 0
        while written < size // 2:
            written += out.write(block)
        if needle:
            written += out.write(needle.encode() + b"\n")
        while written < size:
            written += out.write(block)
    return path
