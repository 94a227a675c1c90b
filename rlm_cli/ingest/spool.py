"""The spool directory: stdin copied as it streams, PDF text, transcoded huge inputs.

Everything here is written in bounded blocks; nothing is held whole in memory.
"""

from __future__ import annotations

import codecs
import itertools
import shutil
from pathlib import Path
from typing import BinaryIO

_BLOCK = 1024 * 1024


class Spool:
    """Names and writes the files of one run's spool directory."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._numbers = itertools.count(1)

    def new_path(self, stem: str, suffix: str = ".txt") -> Path:
        """A fresh file name in the spool directory."""
        return self.directory / f"{stem}-{next(self._numbers)}{suffix}"

    def stdin(self, stream: BinaryIO) -> Path:
        """Copy a stream to a spool file block by block; return its path."""
        target = self.new_path("stdin")
        with target.open("wb") as out:
            shutil.copyfileobj(stream, out, _BLOCK)
        return target

    def transcode(self, source: str, encoding: str) -> Path:
        """Rewrite a file as UTF-8 (BOM dropped, bad bytes as U+FFFD); return the new path."""
        target = self.new_path("utf8")
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        with open(source, "rb") as handle, target.open("wb") as out:
            while block := handle.read(_BLOCK):
                out.write(decoder.decode(block).encode("utf-8"))
            out.write(decoder.decode(b"", final=True).encode("utf-8"))
        return target
