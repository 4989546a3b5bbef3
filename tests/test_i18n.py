"""The interface's catalogues: Arabic plural forms, locale formats, complete and compiled catalogues."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from web import messages as M
from web.i18n import LANGUAGES, TRANSLATIONS, Translator

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "N_": None,
    "N_plural": (1, 2),
    "QueryError": None,
}


def test_arabic_plural_forms_follow_cldr() -> None:
    t = Translator("ar")
    said = {n: t.ngettext(*M.RESULTS_FOR, n, query="x") for n in (0, 1, 2, 3, 11, 100)}
    assert said == {
        0: "لا نتائج عن «x»",  # zero
        1: "نتيجة واحدة عن «x»",  # one
        2: "نتيجتان عن «x»",  # two
        3: "3 نتائج عن «x»",  # few: 3-10
        11: "11 نتيجة عن «x»",  # many: 11-99
        100: "100 نتيجة عن «x»",  # other: 100, 101, 102...
    }
    assert t.ngettext(*M.RESULTS_FOR, 6, query="x") == "6 نتائج عن «x»"
    assert t.ngettext(*M.RESULTS_FOR, 103, query="x") == "103 نتائج عن «x»"  # 103 mod 100 = 3: few
    english = Translator("en")
    assert english.ngettext(*M.RESULTS_FOR, 1, query="x") == "1 result for “x”"
    assert english.ngettext(*M.RESULTS_FOR, 1000, query="x") == "1,000 results for “x”"


def test_the_script_gets_a_form_for_every_cldr_category() -> None:
    forms = Translator("ar").plural_forms(*M.RESULTS_FOR)
    assert set(forms) == {"zero", "one", "two", "few", "many", "other"}
    assert forms["few"] == "%(num)s نتائج عن «%(query)s»" and forms["two"] == "نتيجتان عن «%(query)s»"
    assert set(Translator("en").plural_forms(*M.RESULTS_FOR)) == {"one", "other"}


def test_numbers_and_dates_as_the_locale_writes_them() -> None:
    arabic, english = Translator("ar"), Translator("en")
    assert english.number(1234567) == "1,234,567" and english.date("2024-06-10") == "June 10, 2024"
    assert arabic.date("2024-06-10") == "10 يونيو 2024"
    # CLDR's Arabic ("ar") writes Latin digits; the page's script is told the same numbering system.
    assert arabic.number(1234567) == "1,234,567" and arabic.numbering_system == "latn"


def _catalogue(lang: str):
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as file:
        return read_po(file, locale=lang)


def _messages_in_the_code() -> set[str]:
    """The interface's strings, and the query errors of search/ that the page shows."""
    found = set()
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    for folder in ("web", "search"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map, keywords=KEYWORDS
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_message_of_the_interface_is_translated_into_arabic() -> None:
    arabic = _catalogue("ar")
    in_code = _messages_in_the_code()
    in_catalogue = {
        message.id[0] if isinstance(message.id, tuple) else message.id for message in arabic if message.id
    }
    assert in_code - in_catalogue == set(), "run pybabel extract and update (README: Translating)"
    assert in_catalogue - in_code == set(), "obsolete messages in the catalogue"
    for message in arabic:
        if message.id:
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            assert all(strings) and not message.fuzzy, message.id
            assert not list(message.check(arabic)), message.id  # placeholders match the English


def _strings(messages) -> dict:
    """id -> translation of the translated messages (plural ids and forms as tuples)."""

    def whole(value):
        return tuple(value) if isinstance(value, (list, tuple)) else value

    found = {whole(m.id): whole(m.string) for m in messages if m.id}
    return {key: value for key, value in found.items() if all(value if isinstance(value, tuple) else [value])}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_catalogues_match_their_po_files(lang: str) -> None:
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo", "rb") as file:
        compiled = read_mo(file)
    assert _strings(compiled) == _strings(_catalogue(lang)), "run: pybabel compile -d web/translations"


def test_the_catalogues_ship_in_the_package(tmp_path: Path) -> None:
    """What setuptools puts in the wheel (its build_py step) holds the compiled catalogues."""
    pytest.importorskip("setuptools")
    build = (
        "import sys, setuptools; "
        "sys.argv = ['setup.py', '--quiet', 'build_py', '--build-lib', sys.argv[1]]; setuptools.setup()"
    )
    built = subprocess.run([sys.executable, "-c", build, str(tmp_path / "lib")], cwd=ROOT, capture_output=True,
                           text=True, timeout=300)  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    for lang in LANGUAGES:
        folder = tmp_path / "lib" / "web" / "translations" / lang / "LC_MESSAGES"
        assert (folder / "messages.mo").stat().st_size > 0 and (folder / "messages.po").exists()
    assert Translator("ar").catalogue.ugettext("Search") == "بحث"
