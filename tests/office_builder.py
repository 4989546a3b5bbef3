"""Small Word (.docx), OpenDocument (.odt) and EPUB files for the reader tests, written with zipfile."""

from __future__ import annotations

import zipfile
from pathlib import Path

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def w_paragraph(text: str, style: str = "") -> str:
    properties = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
    return f"<w:p>{properties}<w:r><w:t>{text}</w:t></w:r></w:p>"


def w_table(rows: list[list[str]]) -> str:
    cells = "".join(
        "<w:tr>" + "".join(f"<w:tc>{w_paragraph(cell)}</w:tc>" for cell in row) + "</w:tr>" for row in rows
    )
    return f"<w:tbl>{cells}</w:tbl>"


def _w_part(root: str, inner: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><w:{root} xmlns:w="{W_NS}">{inner}</w:{root}>'


def docx(path: Path, body: str, headers: list[str] = (), footnotes: list[str] = (), title: str = "") -> Path:
    """A .docx whose body is ``body`` (WordprocessingML), with one header part per entry of ``headers``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", _w_part("document", f"<w:body>{body}</w:body>"))
        for number, header in enumerate(headers, 1):
            archive.writestr(f"word/header{number}.xml", _w_part("hdr", w_paragraph(header)))
        if footnotes:
            separator = (
                '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:t>----</w:t></w:r></w:p></w:footnote>'
            )
            notes = "".join(
                f'<w:footnote w:id="{n}">{w_paragraph(text)}</w:footnote>'
                for n, text in enumerate(footnotes, 1)
            )
            archive.writestr("word/footnotes.xml", _w_part("footnotes", separator + notes))
        if title:
            archive.writestr(
                "docProps/core.xml",
                '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
                f' xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{title}</dc:title></cp:coreProperties>',
            )
    return path


ODF = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"'
)


def odt(path: Path, body: str, header: str = "", footer: str = "") -> Path:
    """An .odt whose text is ``body`` (ODF XML); two page styles repeat ``header`` and ``footer``."""
    styles = "".join(
        f'<style:master-page style:name="{name}"><style:header><text:p>{header}</text:p></style:header>'
        f"<style:footer><text:p>{footer}</text:p></style:footer></style:master-page>"
        for name in ("Standard", "First")
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr(
            "content.xml",
            f"<office:document-content {ODF}><office:body><office:text>{body}</office:text></office:body>"
            "</office:document-content>",
        )
        archive.writestr(
            "styles.xml",
            f"<office:document-styles {ODF}><office:master-styles>{styles}</office:master-styles>"
            "</office:document-styles>",
        )
    return path


def epub(path: Path, title: str, chapters: list[tuple[str, str]]) -> Path:
    """An EPUB of ``chapters`` (file name, XHTML body), its spine in the reverse of the manifest's order."""
    manifest = "".join(
        f'<item id="c{n}" href="text/{name}" media-type="application/xhtml+xml"/>'
        for n, (name, _) in enumerate(chapters)
    )
    spine = "".join(f'<itemref idref="c{n}"/>' for n in reversed(range(len(chapters))))
    package = (
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
        f'<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{title}</dc:title></metadata>'
        f"<manifest>{manifest}</manifest><spine>{spine}</spine></package>"
    )
    container = (
        '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container" version="1.0"><rootfiles>'
        '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
        "</rootfiles></container>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/epub+zip")
        archive.writestr("META-INF/container.xml", container)
        archive.writestr("OEBPS/content.opf", package)
        for name, body in chapters:
            archive.writestr(
                f"OEBPS/text/{name}",
                '<?xml version="1.0"?><!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml">'
                f"<head><title>{title}</title></head><body>{body}</body></html>",
            )
    return path
