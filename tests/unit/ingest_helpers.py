"""Builders for ingestion tests: small trees, text in given encodings, PDFs made with pypdf."""

from __future__ import annotations

import io
from pathlib import Path

from rlm_cli.ingest import IngestOptions, IngestResult, ingest


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Create files (text as UTF-8, bytes as given) under root; return root."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def run(sources: list[str], tmp_path: Path, *, stdin: bytes | None = None, **options: object) -> IngestResult:
    """Ingest with a spool dir under tmp_path and an in-memory stdin."""
    return ingest(
        sources, IngestOptions(**options),  # type: ignore[arg-type]
        spool_dir=tmp_path / "spool", stdin=io.BytesIO(stdin or b""),
    )


def make_pdf(pages: list[str], *, user_password: str | None = None) -> bytes:
    """A PDF whose pages show the given lines of text (Helvetica), optionally encrypted."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = DictionaryObject({
        NameObject("/Type"): NameObject("/Font"),
        NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"),
    })
    for text in pages:
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject({
            NameObject("/Font"): DictionaryObject({NameObject("/F1"): font}),
        })
        if text:
            stream = DecodedStreamObject()
            stream.set_data(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1"))
            page.replace_contents(stream)
    if user_password is not None:
        writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
