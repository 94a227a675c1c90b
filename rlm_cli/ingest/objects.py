"""Object-store and web sources through fsspec (s3://, gs://, https://): each object streamed into
the spool, a prefix listed like a directory walk (same skip reasons, gitignore, size caps).

fsspec and its backends (the `remote` extra) are imported only when such a source is named;
credentials come from each backend's usual places (AWS_* variables, ~/.aws, gcloud), never rlm's.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from rlm_cli.corpus import Skipped
from rlm_cli.errors import InputError, RlmError
from rlm_cli.ingest.clock import Clock
from rlm_cli.ingest.documents import Limits, too_large
from rlm_cli.ingest.gitignore import IgnoreRules
from rlm_cli.ingest.spool import Spool
from rlm_cli.ingest.walk import Candidate, Walker
from rlm_cli.urls import without_credentials

BACKENDS = {"s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "http": "aiohttp", "https": "aiohttp"}
EXTRAS = {"gs": "gcs", "gcs": "gcs"}  # the others come with the remote extra
# One streamed GET per object: with more, s3fs holds whole 50 MiB ranges in memory (10 at once).
_OPTIONS: dict[str, dict[str, Any]] = {"s3": {"max_concurrency": 1}}
_HINT = "check the URL; credentials come from the backend's usual places (AWS_* variables or ~/.aws for s3://, gcloud for gs://)"


def is_object_url(source: str) -> bool:
    """True for a URL fsspec reads: s3://, gs://, http(s)://."""
    scheme, sep, _ = source.partition("://")
    return bool(sep) and scheme.lower() in BACKENDS


def add_objects(url: str, walker: Walker, spool: Spool, limits: Limits, gitignore: bool) -> None:
    """Stream one object, or every object under a prefix, into the spool as walker candidates."""
    shown = without_credentials(url)
    fs, path = _filesystem(url)
    try:
        info = _call(lambda: fs.info(path), shown, passing=FileNotFoundError)
    except FileNotFoundError:
        walker.skipped.append(Skipped(shown, "not found"))
        walker.missing.append(shown)
        return
    if info["type"] == "directory":
        _add_prefix(fs, path, shown, walker, spool, limits, gitignore)
    else:
        _download(fs, path, Candidate(shown, "", info.get("size"), explicit=True), walker, spool)


def _add_prefix(fs: Any, path: str, shown: str, walker: Walker, spool: Spool, limits: Limits, gitignore: bool) -> None:
    """Every object under a prefix, in key order, by the rules of a directory walk."""
    base = path.rstrip("/") + "/"
    found: dict[str, dict[str, Any]] = _call(lambda: fs.find(path, detail=True), shown)
    files = {key.removeprefix(base): item for key, item in sorted(found.items()) if key.startswith(base)}
    rules_of = _rules(fs, base, files, spool) if gitignore else lambda folder: IgnoreRules()
    prefix, reported = shown.rstrip("/") + "/", set()
    for relative, item in files.items():
        spool.clock.check("reading " + shown)
        if (skip := walker.listed_skip(relative, rules_of)) is not None:
            if skip[0] not in reported:  # a skipped folder is reported once, as a walk does
                reported.add(skip[0])
                walker.skipped.append(Skipped(prefix + skip[0], skip[1]))
            continue
        candidate = Candidate(prefix + relative, "", item.get("size"), explicit=False)
        if candidate.size is not None and (skipped := too_large(candidate, candidate.size, limits)) is not None:
            walker.skipped.append(skipped)
            continue
        _download(fs, base + relative, candidate, walker, spool)


def _download(fs: Any, path: str, candidate: Candidate, walker: Walker, spool: Spool) -> None:
    """Stream the object to a spool file in the backend's own blocks; add it as a candidate."""
    if candidate.size:
        spool.reserve(candidate.size, candidate.path)
    target = spool.new_path("remote", "")
    _call(lambda: fs.get_file(path, str(target), callback=_clock_callback(spool.clock, candidate.path)), candidate.path)
    candidate.file, candidate.size = str(target), target.stat().st_size
    walker.add_file(candidate)


def _rules(fs: Any, base: str, files: dict[str, dict[str, Any]], spool: Spool) -> Callable[[str], IgnoreRules]:
    """`rules_of(folder)`: the gitignore rules in force in a folder of the listing, from the
    .gitignore objects found in it and above it (each fetched once, when first needed)."""
    ignores = {relative.removesuffix(".gitignore") for relative in files if relative.rsplit("/", 1)[-1] == ".gitignore"}

    @cache
    def rules_of(folder: str) -> IgnoreRules:
        parent = IgnoreRules() if not folder else rules_of(folder[: folder.rstrip("/").rfind("/") + 1])
        if folder not in ignores:
            return parent
        local = spool.new_path("gitignore", "")
        _call(lambda: fs.get_file(base + folder + ".gitignore", str(local)), base + folder + ".gitignore")
        return parent.with_file(folder, local)

    return rules_of


def _filesystem(url: str) -> tuple[Any, str]:
    """The fsspec file system for a URL and the path inside it; InputError naming the extra when missing."""
    scheme = url.partition("://")[0].lower()
    try:
        import fsspec
        from fsspec.core import url_to_fs

        fsspec.get_filesystem_class(scheme)  # raises ImportError when the backend is not installed
    except ImportError:
        extra = EXTRAS.get(scheme, "remote")
        raise InputError(f"reading {scheme}:// sources needs fsspec and {BACKENDS[scheme]}", hint=f"install the extra: pip install 'rlm-cli[{extra}]'") from None
    # A fresh instance per run: a cached one would list what an earlier run in this process saw.
    return _call(lambda: url_to_fs(url, skip_instance_cache=True, **_OPTIONS.get(scheme, {})), without_credentials(url))


def _call(action: Any, shown: str, passing: type[Exception] = RlmError) -> Any:
    """Run a backend call; its failures (a zoo of types across backends) become one InputError,
    except `passing` ones and rlm's own (the clock's)."""
    try:
        return action()
    except (RlmError, passing):
        raise
    except Exception as error:
        reason = without_credentials(str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__)
        raise InputError(f"cannot read {shown}: {reason}", hint=_HINT) from None


def _clock_callback(clock: Clock, shown: str) -> Any:
    """An fsspec callback that stops a download once the run's --timeout has passed."""
    from fsspec.callbacks import Callback

    class _Clocked(Callback):  # type: ignore[misc]  # fsspec is untyped
        def call(self, *args: Any, **kwargs: Any) -> None:
            clock.check("downloading " + shown)

    return _Clocked()
