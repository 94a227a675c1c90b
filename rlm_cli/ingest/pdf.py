"""PDF text through pypdf, page by page, written to a spool file as UTF-8 with page offsets.

Runs in the PDF child process (pdf_worker.py), never in the host: a hostile PDF can cost time
and memory there only. pypdf is imported here only. One bad PDF yields a skip, never an exception.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from rlm_cli.corpus import Skipped


def extract(path: str, file: str, size: int, target: Path) -> dict[str, Any] | Skipped:
    """A manifest entry for the PDF's text (written to `target`), or why it was skipped."""
    from pypdf import PdfReader

    # pypdf reports every oddity of a damaged file as a log warning; the skip reason says enough.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(file)
        if reader.is_encrypted and not _unlock(reader):
            return Skipped(path, "encrypted PDF: needs a password")
        texts, failed = [], []
        for number, page in enumerate(reader.pages, start=1):
            try:
                texts.append(page.extract_text() or "")
            except MemoryError:  # the child's memory limit: the whole file is skipped
                raise
            except Exception:  # one unreadable page must not cost the others
                texts.append("")
                failed.append(number)
    except MemoryError:
        raise
    except Exception as error:  # pypdf raises many types on damaged files
        return Skipped(path, f"broken PDF: {type(error).__name__}: {error}"[:200])
    if not any(text.strip() for text in texts):
        return Skipped(path, f"PDF without text: {len(texts)} pages, scanned images?")
    starts, chars = [], 0
    with target.open("w", encoding="utf-8", errors="replace") as out:
        for number, text in enumerate(texts, start=1):
            piece = f"--- page {number} of {len(texts)} ---\n{text}" + ("" if text.endswith("\n") else "\n")
            starts.append(chars)
            chars += len(piece)
            out.write(piece)
    empty = [number for number, text in enumerate(texts, start=1) if not text.strip()]
    note = f"pages without text: {_ranges(empty)}" if empty else None
    if failed:
        note = f"{note}; " if note else ""
        note += f"pages pypdf could not read: {_ranges(failed)}"
    return {
        "path": path, "file": str(target), "encoding": "utf-8", "size": size, "kind": "pdf",
        "pages": starts, "mmap": False, "chars": chars, "offset": 0, "note": note,
    }


def _unlock(reader: Any) -> bool:
    """Open a PDF encrypted with an empty user password (common: owner-only restrictions)."""
    try:
        return bool(reader.decrypt(""))
    except Exception:  # unsupported algorithm or missing crypto backend: still a skip
        return False


def _ranges(numbers: list[int]) -> str:
    shown = ", ".join(str(number) for number in numbers[:10])
    return shown + (f" and {len(numbers) - 10} more" if len(numbers) > 10 else "")
