"""JSONL traces: one event per line, flushed as written, secrets redacted; and reading them back.

Imports `events`, `keys`, `result` and `settings` only (no Rich): the runner and `rlm replay` share it.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import stat
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rlm_cli.errors import InputError
from rlm_cli.events import Event, event_from_dict, event_to_dict
from rlm_cli.keys import secret_variables, stored_values
from rlm_cli.result import RunResult
from rlm_cli.settings import Settings, state_dir
from rlm_cli.units import clip
from rlm_cli.urls import without_credentials

MAX_FIELD_CHARS = 50_000
# The answer is the product of the run: `rlm show` prints it from the trace, so it is kept whole.
UNCUT = {("RunFinished", "answer"), ("AnswerUpdated", "content")}
SECRET_NAME = re.compile(r"(_API_KEY|_TOKEN|_SECRET|_PASSWORD|_SECRET_KEY|_ACCESS_KEY|_PRIVATE_KEY|_ACCESS_KEY_ID)$")
KNOWN_SECRETS = frozenset({
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AZURE_AD_TOKEN",
    "AZURE_CLIENT_SECRET", "GH_TOKEN", "GITHUB_TOKEN", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN",
    "VERTEXAI_CREDENTIALS", "DATABASE_URL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY",
})
MIN_SECRET_CHARS = 6  # shorter values ("1", "true") would redact half the trace
REDACTED = "[redacted]"


def runs_dir(settings: Settings) -> Path:
    """Where traces are kept: `<state dir>/runs`."""
    return state_dir(settings) / "runs"


def default_trace_path(settings: Settings, run_id: str) -> Path:
    """`<state dir>/runs/<run_id>.jsonl`."""
    return runs_dir(settings) / f"{run_id}.jsonl"


def secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    """Values of credential-like environment variables (`.env` is loaded into the environment
    before a run), of those a router file names for its keys, and the keys in rlm's keys file,
    longest first."""
    env = os.environ if env is None else env
    named = secret_variables()
    found = {
        value for name, value in env.items()
        if len(value) >= MIN_SECRET_CHARS and (name.upper() in KNOWN_SECRETS or SECRET_NAME.search(name.upper()) or name in named)
    }
    found.update(value for value in stored_values() if len(value) >= MIN_SECRET_CHARS)
    return sorted(found, key=len, reverse=True)


def spellings(secret: str) -> set[str]:
    """The forms a secret can take inside a trace line: raw, JSON-escaped, reversed, hex, and the
    base64 runs that every base64 text holding it contains (one per alignment, standard and URL-safe)."""
    raw = secret.encode("utf-8")
    forms = {secret, json.dumps(secret)[1:-1], secret[::-1], raw.hex(), raw.hex().upper()}
    for shift in range(3):
        encoded = base64.b64encode(bytes(shift) + raw).decode("ascii").rstrip("=")
        # Drop the characters that also hold the padding bytes before and whatever follows after.
        stable = encoded[(4 * shift + 2) // 3 : (4 * (shift + len(raw))) // 3]
        if len(stable) >= MIN_SECRET_CHARS:
            forms |= {stable, stable.replace("+", "-").replace("/", "_")}
    return forms


class Redactor:
    """Replaces every key value (environment, `.env`, keys file) in a text, in each of its spellings,
    and drops the credentials written into URLs."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.secrets = sorted({form for value in secret_values(env) for form in spellings(value)}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return without_credentials(text)


class TraceWriter:
    """A Renderer that appends each event to a JSONL file; thread-safe, one flush per line."""

    def __init__(self, path: Path, *, env: Mapping[str, str] | None = None, max_field_chars: int = MAX_FIELD_CHARS) -> None:
        self.path = path
        self.max_field_chars = max_field_chars
        self._redact = Redactor(env)
        self._lock = threading.Lock()
        self.lines = 0
        # Only a file this writer made may be removed again; never a device or the user's file.
        self.created = not path.exists()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Traces hold prompts and answers: readable by their owner only.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        except OSError as error:
            raise InputError(f"cannot write the trace {path}: {error.strerror or error}") from None
        if stat.S_ISREG(os.fstat(fd).st_mode):  # not a device such as /dev/null or a pipe
            _claim(fd, path)
        self._file = os.fdopen(fd, "w", encoding="utf-8")

    def handle(self, event: Event) -> None:
        """Append the event as one line and flush it."""
        line = self.line(event)
        with self._lock:
            if not self._file.closed:
                self._file.write(line)
                self._file.flush()
                self.lines += 1

    def close(self, result: RunResult | None = None) -> None:
        """Close the file; the last event written is normally RunFinished."""
        with self._lock:
            self._file.close()

    def discard_if_empty(self) -> None:
        """Remove the file when this writer made it and nothing was written (a run refused early)."""
        if self.created and self.lines == 0 and self.path.is_file():
            self.path.unlink()

    def line(self, event: Event) -> str:
        """The redacted, size-capped JSON line for an event."""
        return self._redact(json.dumps(trace_dict(event, self.max_field_chars), ensure_ascii=False)) + "\n"


def trace_dict(event: Event, max_field_chars: int = MAX_FIELD_CHARS) -> dict[str, Any]:
    """An event as a trace records it: its dict, every text but the answer cut to `max_field_chars`."""
    data = event_to_dict(event)
    kind = data["event"]
    for key, value in data.items():
        if isinstance(value, str) and (kind, key) not in UNCUT:
            data[key] = clip(value, max_field_chars)
    return data


def _claim(fd: int, path: Path) -> None:
    """Make this writer the file's only one, and empty it (a rerun replaces the file it names)."""
    try:  # two runs on one path would interleave their lines
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise InputError(
            f"the trace {path} is being written by another run", hint="give each run its own --trace path"
        ) from None
    os.ftruncate(fd, 0)


def read_trace(path: Path) -> list[Event]:
    """The events of a trace; a cut last line (a run killed mid-write) is skipped."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise InputError(f"no trace at {path}", hint="`rlm runs` lists the recorded runs") from None
    except OSError as error:
        raise InputError(f"cannot read trace {path}: {error.strerror}") from None
    lines = text.splitlines()
    events: list[Event] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            events.append(event_from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError) as error:
            if number == len(lines) and not text.endswith("\n"):
                break
            raise InputError(f"{path}:{number}: not a trace line ({error})") from None
    if not events:
        raise InputError(f"{path} holds no events")
    return events


def parse_line(line: str) -> dict[str, Any] | None:
    """One trace line as a dict, or None when it is cut or not JSON."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data if isinstance(data, dict) and "event" in data else None
