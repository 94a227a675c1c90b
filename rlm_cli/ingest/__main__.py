"""`python -m rlm_cli.ingest SOURCE...`: ingest as `rlm ask` does (default options), print the summary.

Shows what a run would read without asking a model; benchmarks/ingest.py times it as a process.
Imports only what ingestion needs (no CLI, no model client).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from rlm_cli.errors import RlmError
from rlm_cli.exits import error_line, exit_code_for
from rlm_cli.ingest import IngestOptions, ingest


def main(sources: list[str]) -> int:
    """Ingest `sources` into a throw-away spool; print the input summary as JSON."""
    if not sources:
        print("usage: python -m rlm_cli.ingest SOURCE...", file=sys.stderr)
        return 2
    try:
        with tempfile.TemporaryDirectory(prefix="rlm-") as spool:
            result = ingest(sources, IngestOptions(), spool_dir=Path(spool))
    except RlmError as error:
        print(error_line(error), file=sys.stderr)
        return int(exit_code_for(error))
    print(json.dumps(result.summary()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
