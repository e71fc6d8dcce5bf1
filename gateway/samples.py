"""Generated documents for the demo, the tests and the benchmarks: real files of each accepted type
(a PDF letter, a PNG photo, and the smallest valid JPEG, TIFF, ODT and DOCX), made from nothing
so that no citizen's document is ever needed to show or test the gateway."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib


def pdf(lines: list[str], padding: int = 0) -> bytes:
    """A one-page PDF 1.4 letter in Helvetica (Western European text), with `padding` bytes of comment to
    make it as large as a test needs."""
    text = "\n".join(
        f"BT /F1 12 Tf 72 {760 - 18 * number} Td ({_pdf_escape(line)}) Tj ET" for number, line in enumerate(lines)
    ).encode("cp1252", errors="replace")  # WinAnsiEncoding
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    if padding:
        out += b"%" + b"0" * max(padding - 2, 0) + b"\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _pdf_escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def png(width: int = 64, height: int = 48) -> bytes:
    """An RGB gradient: stands in for a photo of a construction defect."""
    rows = b"".join(
        b"\x00" + bytes(channel for x in range(width) for channel in (x * 255 // width, y * 255 // height, 128))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def jpeg() -> bytes:
    """A JFIF header and end marker: enough to be recognised (the gateway never decodes images)."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"


def tiff() -> bytes:
    """A little-endian TIFF header with an empty directory."""
    return b"II*\x00\x08\x00\x00\x00" + b"\x00\x00" + b"\x00\x00\x00\x00"


def odt(text: str = "Procès-verbal de constat") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")  # first, stored
        archive.writestr("content.xml", f"<office:document-content><text>{text}</text></office:document-content>")
    return buffer.getvalue()


def docx(text: str = "Contrat de vente en l'état futur d'achèvement") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("word/document.xml", f"<w:document><w:t>{text}</w:t></w:document>")
    return buffer.getvalue()
