"""`python -m rlm_cli.ingest.pdf_worker MEMORY`: the child that parses PDFs for ingestion.

Reads one JSON request per line on stdin ({"path", "file", "size", "target"}), answers one JSON
line on stdout: {"entry": {...}} or {"skip": "reason"}. Its heap is capped at MEMORY bytes
(RLIMIT_DATA, and written files at as much); past it a file is skipped as `pdf too large`. The
host kills it when a file takes too long. It exits when its stdin closes or its parent dies.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import sys
import threading
import time
from pathlib import Path

TOO_LARGE = "pdf too large"


def main(memory: int) -> None:
    """Serve requests until stdin closes."""
    for limit in (resource.RLIMIT_DATA, resource.RLIMIT_FSIZE):
        resource.setrlimit(limit, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the cap raises EFBIG instead
    parent = os.getppid()
    threading.Thread(target=_orphan_watch, args=(parent,), daemon=True).start()
    import pypdf  # noqa: F401 (imported before "ready": the host's time limit is for parsing only)

    from rlm_cli.ingest import pdf

    _reply({"ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        try:
            result = pdf.extract(request["path"], request["file"], request["size"], Path(request["target"]))
        except MemoryError:
            _reply({"skip": TOO_LARGE})
            continue
        except OSError as error:  # the text outgrew the file size cap, or the spool filled up
            _reply({"skip": TOO_LARGE if error.errno == errno.EFBIG else f"unreadable: {error.strerror}"})
            continue
        _reply({"entry": result} if isinstance(result, dict) else {"skip": result.reason})


def _reply(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _orphan_watch(parent: int) -> None:
    """Exit when the host is gone (it may have been killed while a file was parsed)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


if __name__ == "__main__":
    main(int(sys.argv[1]))
