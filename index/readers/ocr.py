"""Text from a page's image, by the ``tesseract`` command (Apache-2.0; an optional system tool).

Recognising a page takes seconds, so every result is kept in an
:class:`OcrCache`, keyed by the file's content, the page and the settings:
a rebuild, a renamed file or a copy never recognises the same page twice.
Tesseract runs as a child process with a time limit and one thread, reading
the page as a PGM image on its standard input (no image library needed).

Numbers: Debian's ``tesseract-ocr-ara`` model cannot write the Arabic-Indic
digits ٢ to ٩ (its character set has only ٠ and ١), so decree numbers and
dates came out as Latin look-alikes (١٤٣٨ as ١474). The Arabic-script
model (``tesseract-ocr-script-arab``) has every digit and is used when
installed; it writes Persian letter forms and digits, folded here to
Arabic ones. English is not recognised alongside by default: with ``eng``
loaded, Tesseract reads many Arabic-Indic numbers as Latin words (١٩٩٤ as
"VANE"); a page that comes out mostly non-Arabic is read again with it.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .arabic_text import is_arabic_letter, plausible_share

OCR_SECONDS = 120  # one page; a page that takes longer is left unread
SPARSE_WORDS = 40
MIN_ARABIC = 0.5  # a page with a smaller share of Arabic letters is read with English too  # fewer words than this on a page: try reading it as one block of text too
_PERSIAN = str.maketrans("یکھہۀ۰۱۲۳۴۵۶۷۸۹", "يكههة٠١٢٣٤٥٦٧٨٩")
_DIRECTION_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_BLANK_LINES = re.compile(r"\n\s*\n+")


# Tesseract dies with the build (no process outlives its parent): util-linux's setpriv sets
# its parent-death signal before it starts. Without setpriv, a killed build's Tesseract
# finishes its page (OCR_SECONDS at most) and exits.
_DYING_WITH_PARENT = ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []


class OcrFailed(Exception):
    """Tesseract could not read a page (timed out, crashed, or refused the image)."""


@dataclass(frozen=True)
class OcrSettings:
    """How pages are recognised: part of the cache key, so changing any of it reads pages anew."""

    dpi: int = 300
    page_seconds: float = OCR_SECONDS

    def languages(self) -> str:
        """The Arabic-script model (every Arabic-Indic digit) when installed, else Arabic's."""
        return "Arabic" if "Arabic" in installed_languages() else "ara"

    def identity(self) -> str:
        return f"{tesseract_version()} -l {self.languages()} (+eng) --dpi {self.dpi}"


@functools.cache
def tesseract_version() -> str | None:
    """Tesseract's version line, or None when it is not installed (or does not run)."""
    if shutil.which("tesseract") is None:
        return None
    try:
        done = subprocess.run(["tesseract", "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = (done.stdout or done.stderr).splitlines()
    return lines[0].strip() if done.returncode == 0 and lines else None


@functools.cache
def installed_languages() -> frozenset[str]:
    if tesseract_version() is None:
        return frozenset()
    done = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30)
    return frozenset(line.strip() for line in done.stdout.splitlines()[1:] if line.strip())


def unavailable_reason() -> str | None:
    """Why scanned pages cannot be read on this machine, or None when they can."""
    if tesseract_version() is None:
        return "install tesseract-ocr and tesseract-ocr-ara to read them"
    if not {"ara", "Arabic"} & installed_languages():
        return "install tesseract-ocr-ara (or tesseract-ocr-script-arab) to read them"
    return None


def recognise(image: bytes, settings: OcrSettings) -> str:
    """The text of one page image (PGM), as a page reads.

    A sparse page is read as one block of text too, and a page that is
    mostly not Arabic with English too; the reading with more plausible
    words wins.
    """
    languages = settings.languages()
    text = _tesseract(image, settings, languages, psm=3)
    if len(text.split()) < SPARSE_WORDS:
        text = _better(text, _tesseract(image, settings, languages, psm=6))
    if arabic_share(text) < MIN_ARABIC and "eng" in installed_languages():
        text = _better(text, _tesseract(image, settings, f"eng+{languages}", psm=3))
    return text


def _better(first: str, second: str) -> str:
    return second if _readable_words(second) > _readable_words(first) else first


def arabic_share(text: str) -> float:
    letters = [char for char in text if char.isalpha()]
    return sum(is_arabic_letter(char) for char in letters) / len(letters) if letters else 0.0


def _readable_words(text: str) -> float:
    return len(text.split()) * plausible_share(text)


def _tesseract(image: bytes, settings: OcrSettings, languages: str, psm: int) -> str:
    command = [*_DYING_WITH_PARENT, "tesseract", "stdin", "stdout", "-l", languages, "--psm", str(psm)]
    command += ["--dpi", str(settings.dpi)]
    # One thread: a build already keeps every core busy, and OpenMP threads only add overhead.
    environment = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        done = subprocess.run(
            command, input=image, capture_output=True, timeout=settings.page_seconds, env=environment
        )
    except subprocess.TimeoutExpired as error:
        raise OcrFailed(f"took longer than {settings.page_seconds:g} s") from error
    except OSError as error:
        raise OcrFailed(str(error)) from error
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OcrFailed(message[-1] if message else f"tesseract exited with {done.returncode}")
    return cleaned(done.stdout.decode("utf-8", "replace"))


def cleaned(text: str) -> str:
    """Tesseract's output as stored text: no direction marks, Arabic letters and digits, no blank lines."""
    text = _DIRECTION_MARKS.sub("", text).translate(_PERSIAN)
    return _BLANK_LINES.sub("\n", text).strip()


def file_digest(path: Path) -> str:
    """The SHA-256 of the file's bytes: what an OCR result belongs to, whatever the file is called."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class OcrCache:
    """Recognised pages kept in a folder, one small file each, written atomically.

    The key covers the file's content, the page and the OCR settings
    (Tesseract's version, models, resolution), so a result is reused exactly
    when reading again would give the same text.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def key(self, digest: str, page: int, settings: OcrSettings) -> str:
        return hashlib.sha256(f"{digest}\n{page}\n{settings.identity()}".encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.txt"

    def get(self, key: str) -> str | None:
        try:
            return self._path(key).read_text(encoding="utf-8")
        except (FileNotFoundError, UnicodeDecodeError):
            return None

    def put(self, key: str, text: str) -> None:
        """Stores ``text``: written to a temporary file beside its place, then renamed over it."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".ocr-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(text)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
