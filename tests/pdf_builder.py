"""Small PDFs for the reader tests, made by pdfium itself (pypdfium2's page-object API) with a system font.

Each helper draws text the way a real producer would leave it in a file —
logical order, visual order, presentation forms, ligatures whose ToUnicode
entry names two letters — so the tests read what pdfium really returns.
"""

from __future__ import annotations

import ctypes
import re
import unicodedata
import zlib
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # Debian's fonts-dejavu-core: Arabic and Latin


@dataclass(frozen=True)
class Text:
    """A string drawn left to right from (x, y), glyph after glyph, as pdfium's text objects do."""

    text: str
    x: float
    y: float
    size: float = 14


def shaped(text: str) -> str:
    """Arabic ``text`` as a typesetter draws it: joined presentation forms, in visual (left-to-right) order.

    Drawn left to right, this shows the text as it reads; it is also what
    pdfium's text objects need, since they draw glyphs without shaping.
    """
    words = [_shaped_word(word) for word in text.split(" ")]
    return re.sub("[0-9٠-٩]+", lambda digits: digits.group()[::-1], " ".join(words)[::-1])


def _shaped_word(word: str) -> str:
    word = re.sub("ل([اأإآ])", lambda m: _LAM_ALEF[m.group(1)], word)
    forms = []
    for index, char in enumerate(word):
        joins_before = index > 0 and _joins_next(word[index - 1])
        joins_after = (
            index + 1 < len(word)
            and _joins_next(char)
            and _form(word[index + 1], "FINAL FORM") != word[index + 1]
        )
        form = {(True, True): "MEDIAL FORM", (True, False): "FINAL FORM", (False, True): "INITIAL FORM"}.get(
            (joins_before, joins_after), "ISOLATED FORM"
        )
        forms.append(_form(char, form))
    return "".join(forms)


_LAM_ALEF = {"ا": "\ufefb", "أ": "\ufef7", "إ": "\ufef9", "آ": "\ufef5"}  # isolated lam-alef ligatures


def _joins_next(char: str) -> bool:
    """Whether ``char`` connects to the letter after it (it has an initial form, and is not a lam-alef)."""
    return _form(char, "INITIAL FORM") != char


def _form(char: str, form: str) -> str:
    if "\ufef5" <= char <= "\ufefc":  # a lam-alef ligature: isolated, or final after a joining letter
        return chr(ord(char) + 1) if form in ("FINAL FORM", "MEDIAL FORM") else char
    try:
        return unicodedata.lookup(f"{unicodedata.name(char)} {form}")
    except KeyError:
        return char


def text_pdf(path: Path, pages: list[list[Text]], size: tuple[float, float] = (500, 300)) -> Path:
    """A PDF of ``pages``, each drawing its strings with the embedded font."""
    pdf = pdfium.PdfDocument.new()
    data = FONT.read_bytes()
    buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
    font = pdfium_c.FPDFText_LoadFont(pdf, buffer, len(data), pdfium_c.FPDF_FONT_TRUETYPE, True)
    for texts in pages:
        page = pdf.new_page(*size)
        for item in texts:
            _draw(pdf, page, font, item)
        page.gen_content()
    pdf.save(path)
    return path


def _draw(pdf: pdfium.PdfDocument, page: pdfium.PdfPage, font, item: Text) -> None:
    obj = pdfium_c.FPDFPageObj_CreateTextObj(pdf, font, item.size)
    wide = (item.text + "\0").encode("utf-16-le")
    pdfium_c.FPDFText_SetText(obj, ctypes.cast(ctypes.c_char_p(wide), ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
    pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, item.x, item.y)
    pdfium_c.FPDFPage_InsertObject(page, obj)


def image_pdf(path: Path, source: Path, dpi: int = 200) -> Path:
    """``source``'s first page rendered and put back as an image only: a scan, with no text layer."""
    rendered = pdfium.PdfDocument(source)[0]
    width, height = rendered.get_size()
    bitmap = rendered.render(scale=dpi / 72, grayscale=True)
    pdf = pdfium.PdfDocument.new()
    page = pdf.new_page(width, height)
    image = pdfium.PdfImage.new(pdf)
    image.set_bitmap(bitmap)
    image.set_matrix(pdfium.PdfMatrix().scale(width, height))
    page.insert_obj(image)
    page.gen_content()
    pdf.save(path)
    return path


def with_ligature_mapping(path: Path, glyph_text: str, letters: str) -> Path:
    """The PDF at ``path`` with the glyph drawn for ``glyph_text`` mapped to ``letters`` in its ToUnicode CMap.

    Word and Adobe's library write one glyph for lam-alef and map it to
    the two letters; this makes pdfium's own PDF do the same.
    """
    code = _glyph_code(path, glyph_text)
    letters_hex = letters.encode("utf-16-be").hex().upper()
    entry = f"1 beginbfchar\n<{code}> <{letters_hex}>\nendbfchar\nendcmap".encode()
    return rewrite_streams(
        path, lambda data: data.replace(b"endcmap", entry, 1) if b"begincmap" in data else data
    )


def _glyph_code(path: Path, glyph_text: str) -> str:
    """The glyph code pdfium wrote for ``glyph_text``, alone in its own text object."""
    codes: list[str] = []
    rewrite_streams(path, lambda data: codes.extend(re.findall(rb"\[<([0-9A-F]{4})>\] TJ", data)) or data)
    if not codes:
        raise ValueError(f"no single-glyph text object for {glyph_text!r}")
    return codes[0].decode()


def rewrite_streams(path: Path, change) -> Path:
    """Every Flate stream of the PDF passed through ``change``; the file is written anew with a true xref."""
    data = path.read_bytes()
    objects = {}
    for match in re.finditer(rb"(\d+) 0 obj\r?\n(.*?)\r?\nendobj", data, re.S):
        objects[int(match.group(1))] = _changed_object(match.group(2), change)
    trailer = re.search(rb"trailer\s*(<<.*?>>)\s*startxref", data, re.S)
    assert trailer is not None
    path.write_bytes(serialised(objects, trailer.group(1)))
    return path


def _changed_object(body: bytes, change) -> bytes:
    match = re.match(rb"(<<.*?>>)\s*stream\r?\n(.*)\r?\nendstream\s*$", body, re.S)
    if match is None or b"FlateDecode" not in match.group(1):
        return body
    content = change(zlib.decompress(match.group(2)))
    packed = zlib.compress(content)
    dictionary = re.sub(rb"/Length \d+", b"/Length %d" % len(packed), match.group(1))
    return dictionary + b"\nstream\n" + packed + b"\nendstream"


def serialised(objects: dict[int, bytes], trailer: bytes) -> bytes:
    """A PDF file of ``objects`` (number -> body) with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    size = max(objects) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += b"%010d 00000 n \n" % offsets[number] if number in offsets else b"0000000000 65535 f \n"
    trailer = re.sub(rb"/Size \d+", b"/Size %d" % size, trailer)
    out += b"trailer\n" + trailer + b"\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def encrypted_pdf(path: Path) -> Path:
    """A one-page PDF protected by a user password (standard security handler, RC4 40-bit)."""
    objects = {
        1: b"<</Type/Catalog/Pages 2 0 R>>",
        2: b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        3: b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>",
        4: b"<</Filter/Standard/V 1/R 2/O<" + b"11" * 32 + b">/U<" + b"22" * 32 + b">/P -44>>",
    }
    trailer = b"<</Root 1 0 R/Encrypt 4 0 R/Size 5/ID[<" + b"33" * 16 + b"><" + b"33" * 16 + b">]>>"
    path.write_bytes(serialised(objects, trailer))
    return path
