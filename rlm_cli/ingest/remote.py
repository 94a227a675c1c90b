"""The one resolver for remote sources: a git URL becomes a cached clone walked like a folder,
an object-store or web URL becomes spooled files; everything after is the local ingest."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from rlm_cli.ingest.documents import Limits
from rlm_cli.ingest.gitsource import clone, is_git_url
from rlm_cli.ingest.objects import add_objects, is_object_url
from rlm_cli.ingest.spool import Spool
from rlm_cli.ingest.walk import Walker

if TYPE_CHECKING:
    from rlm_cli.ingest import IngestOptions


def is_remote(source: str) -> bool:
    """True for a git URL or an fsspec URL (s3://, gs://, http(s)://) that is not a local path."""
    return (is_git_url(source) or is_object_url(source)) and not os.path.lexists(source)


def add_remote(source: str, walker: Walker, spool: Spool, options: IngestOptions) -> None:
    """Bring a remote source into the walk: clone it (git) or stream it to the spool (objects)."""
    if is_git_url(source):
        repository = clone(source, options.git_ref, spool.clock)
        walker.add_source(str(repository.directory), shown_as=repository.name + "/")
    else:
        add_objects(source, walker, spool, Limits(options.max_file_size, options.mmap_threshold), options.gitignore)
