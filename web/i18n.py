"""The interface's languages: gettext catalogues for words, CLDR (through Babel) for numbers, dates and plurals.

Every string of the interface is written in English in the templates and the
code (``_("...")``, ``ngettext(...)``, and ``N_`` for messages translated where
they are shown) and translated in ``web/translations/<lang>/LC_MESSAGES/
messages.po``, which translators edit; the compiled ``.mo`` files ship in the
package. Plural forms follow each language's CLDR rules (Arabic has six: 0, 1,
2, 3-10, 11-99, and 100, 101...), and numbers and dates are written as the
locale writes them.

The language is the ``ui`` cookie (set by the visible language switch), else
the best match of ``Accept-Language``, else English. Arabic pages are
right-to-left.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal
from babel.support import Translations
from flask import Request
from markupsafe import Markup

LANGUAGES = ("ar", "en")
COOKIE = "ui"
TRANSLATIONS = Path(__file__).with_name("translations")
DOMAIN = "messages"


def N_(message: str) -> str:
    """Mark ``message`` for the catalogues; it is translated where it is shown."""
    return message


def N_plural(singular: str, plural: str) -> tuple[str, str]:
    """Mark a singular and plural pair for the catalogues (``plural`` in templates translates it)."""
    return singular, plural


@cache
def catalogue(lang: str) -> Translations:
    """The compiled catalogue of one language (loaded once per process)."""
    found = Translations.load(str(TRANSLATIONS), [lang], DOMAIN)
    if not isinstance(found, Translations):  # Babel falls back to NullTranslations when a file is missing
        raise FileNotFoundError(
            f"no compiled catalogue for {lang!r} in {TRANSLATIONS} (run: pybabel compile)"
        )
    return found


def text_direction(lang: str) -> str:
    """The direction of a document's text from its language (mixed text decides for itself)."""
    return {"ar": "rtl", "en": "ltr"}.get(lang, "auto")


def choose_language(request: Request) -> str:
    """The interface language for this request."""
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES, default="en")


class Translator:
    """One interface language: its words, plurals, numbers and dates (``g.t`` during a request)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.locale = Locale.parse(lang)
        self.catalogue = catalogue(lang)

    @property
    def direction(self) -> str:
        return "rtl" if self.locale.character_order == "right-to-left" else "ltr"

    @property
    def other(self) -> str:
        """The other interface language (the switch offers it)."""
        return next(lang for lang in LANGUAGES if lang != self.lang)

    def name_of(self, lang: str) -> str:
        """A language's name in that language, as a language switch shows it."""
        return Locale.parse(lang).language_name

    def gettext(self, message: str, **values: object) -> str:
        """``message`` translated, with ``%(name)s`` filled from ``values`` (numbers and dates localised)."""
        return self._filled(self.catalogue.ugettext(message), values)

    def ngettext(self, singular: str, plural: str, count: int, **values: object) -> str:
        """The plural form of this language for ``count``; ``%(num)s`` is ``count``, localised."""
        return self._filled(self.catalogue.ungettext(singular, plural, count), {"num": count, **values})

    def plural_forms(self, singular: str, plural: str) -> dict[str, str]:
        """The translation for each CLDR plural category (zero, one, two, few, many, other).

        The page's script picks one with the browser's ``Intl.PluralRules``:
        the catalogues' plural formulas are CLDR's, so both choose alike.
        """
        rule = self.locale.plural_form
        forms: dict[str, str] = {}
        for count in range(1000):
            forms.setdefault(rule(count), self.catalogue.ungettext(singular, plural, count))
        return forms

    def number(self, value: float) -> str:
        """A number as this locale writes it (digits and separators)."""
        return format_decimal(value, locale=self.locale, numbering_system="default")

    @property
    def numbering_system(self) -> str:
        """The locale's digits (``latn``, ``arab``...), for the page's script to format numbers alike."""
        return self.locale.default_numbering_system

    def date(self, value: date | str) -> str:
        """A day as this locale writes it in full (10 June 2024, ١٠ يونيو ٢٠٢٤...)."""
        day = date.fromisoformat(value) if isinstance(value, str) else value
        return format_date(day, "long", locale=self.locale)

    def markup(self, text: str, values: dict[str, object]) -> Markup:
        """``text`` (a translation) escaped, with ``values`` escaped unless they are Markup already."""
        return Markup.escape(text) % self._shown(values) if values else Markup.escape(text)

    def _filled(self, text: str, values: dict[str, object]) -> str:
        return text % self._shown(values) if values else text

    def _shown(self, values: dict[str, object]) -> dict[str, object]:
        """Values as the page shows them: numbers and dates in this locale."""
        shown: dict[str, object] = {}
        for name, value in values.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                shown[name] = self.number(value)
            elif isinstance(value, (date, datetime)):
                shown[name] = self.date(value)
            else:
                shown[name] = value
        return shown


def template_functions(current: Callable[[], Translator]) -> dict[str, Callable[..., object]]:
    """``_``, ``ngettext`` and friends for Jinja, translating with ``current()`` (this request's Translator).

    They return Markup: the translation and every value are escaped, except
    values that are Markup already (a ``<bdi>`` built by the template).
    """

    def gettext(message: str, **values: object) -> Markup:
        t = current()
        return t.markup(t.catalogue.ugettext(message), values)

    def ngettext(singular: str, plural: str, count: int, **values: object) -> Markup:
        t = current()
        return t.markup(t.catalogue.ungettext(singular, plural, count), {"num": count, **values})

    def plural(pair: tuple[str, str], count: int, **values: object) -> Markup:
        """``ngettext`` for a pair marked with :func:`N_plural`."""
        return ngettext(*pair, count, **values)

    def number(value: float) -> str:
        return current().number(value)

    def day(value: str) -> str:
        return current().date(value)

    return {"_": gettext, "ngettext": ngettext, "plural": plural, "number": number, "day": day}
