"""Interface strings in Arabic and English, and how a request picks one.

The choice is the ``ui`` cookie (set by the visible language switch), else the
best match of ``Accept-Language``, else English. Arabic pages are
right-to-left.
"""

from __future__ import annotations

from flask import Request

LANGUAGES = ("ar", "en")
COOKIE = "ui"

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "app_name": "Fahras",
        "tagline": "Search Arabic and English documents",
        "search_placeholder": "Search… (Arabic or English)",
        "search_button": "Search",
        "results_count": "{total} results",
        "showing_results_for": "Showing results for",
        "keyboard_layout": "(the query reads like text typed on the other keyboard layout)",
        "search_instead": "Search instead for",
        "stop_words_only": "“{words}” is too common to search for (a stop word). Add a more specific word.",
        "past_last_page": "Page {page} is past the last page of results ({pages}).",
        "took": "in {ms} ms",
        "sort_relevance": "Most relevant",
        "sort_date": "Newest first",
        "sort_label": "Sort",
        "filter_language": "Language",
        "filter_source": "Source",
        "filter_date": "Date",
        "date_from": "From",
        "date_to": "To",
        "apply": "Apply",
        "clear_filters": "Clear filters",
        "lang_ar": "Arabic",
        "lang_en": "English",
        "lang_mixed": "Mixed",
        "did_you_mean": "Did you mean",
        "no_results": "No documents match “{query}”.",
        "tips_title": "Tips",
        "tip_spelling": "Check the spelling, or try fewer or more general words.",
        "tip_filters": "Remove filters to search the whole collection.",
        "tip_syntax": 'Use OR between alternatives, "quotes" for phrases, and word* for prefixes.',
        "empty_title": "What are you looking for?",
        "empty_hint": "Type words in Arabic or English. Spelling variants (أ/ا, ة/ه, ى/ي) and diacritics are matched for you.",
        "examples": "Try",
        "previous": "Previous",
        "next": "Next",
        "page_of": "Page {page} of {pages}",
        "back_to_results": "Back to results",
        "document": "Document",
        "source": "Source",
        "date": "Date",
        "language": "Language",
        "open_original": "Open original",
        "bad_query": "That query could not be run",
        "not_found": "Document not found",
        "not_found_hint": "It may have been removed from the index.",
        "switch_language": "العربية",
        "documents_indexed": "{count} documents indexed",
        "no_index": "There is no index yet. Create one with: fahras index FOLDER",
        "index_unusable": "The index cannot be used: it is damaged, or was written by another version "
        "of Fahras. Searches are unavailable until it is repaired (on the server: fahras check, then "
        "fahras rebuild).",
        "index_outdated": "This index was built by an older version of Fahras: some documents may not "
        "be found until it is rebuilt (fahras rebuild).",
        "all": "All",
        "pagination": "Pagination",
        "filters": "Filters",
        "results": "Results",
        "skip_to_results": "Skip to results",
    },
    "ar": {
        "app_name": "فهرس",
        "tagline": "ابحث في الوثائق العربية والإنجليزية",
        "search_placeholder": "ابحث… (بالعربية أو الإنجليزية)",
        "search_button": "بحث",
        "results_count": "{total} نتيجة",
        "showing_results_for": "عرض نتائج",
        "keyboard_layout": "(يبدو أن البحث كُتب بتخطيط لوحة المفاتيح الآخر)",
        "search_instead": "ابحث بدلًا من ذلك عن",
        "stop_words_only": "«{words}» شائعة جدًا فلا يُبحث عنها (كلمة توقف). أضف كلمة أدق.",
        "past_last_page": "الصفحة {page} بعد آخر صفحة من النتائج ({pages}).",
        "took": "في {ms} ملّي ثانية",
        "sort_relevance": "الأكثر صلة",
        "sort_date": "الأحدث أولاً",
        "sort_label": "الترتيب",
        "filter_language": "اللغة",
        "filter_source": "المصدر",
        "filter_date": "التاريخ",
        "date_from": "من",
        "date_to": "إلى",
        "apply": "تطبيق",
        "clear_filters": "إزالة عوامل التصفية",
        "lang_ar": "العربية",
        "lang_en": "الإنجليزية",
        "lang_mixed": "مختلطة",
        "did_you_mean": "هل تقصد",
        "no_results": "لا توجد وثائق تطابق «{query}».",
        "tips_title": "نصائح",
        "tip_spelling": "تحقق من الإملاء، أو جرّب كلمات أقل أو أعمّ.",
        "tip_filters": "أزل عوامل التصفية للبحث في المجموعة كلها.",
        "tip_syntax": 'استخدم OR بين البدائل، وعلامات "التنصيص" للعبارات، وكلمة* للبادئات.',
        "empty_title": "عمّ تبحث؟",
        "empty_hint": "اكتب كلمات بالعربية أو الإنجليزية. نطابق لك اختلافات الإملاء (أ/ا، ة/ه، ى/ي) والتشكيل.",
        "examples": "جرّب",
        "previous": "السابق",
        "next": "التالي",
        "page_of": "الصفحة {page} من {pages}",
        "back_to_results": "العودة إلى النتائج",
        "document": "وثيقة",
        "source": "المصدر",
        "date": "التاريخ",
        "language": "اللغة",
        "open_original": "فتح الأصل",
        "bad_query": "تعذّر تنفيذ هذا البحث",
        "not_found": "الوثيقة غير موجودة",
        "not_found_hint": "ربما حُذفت من الفهرس.",
        "switch_language": "English",
        "documents_indexed": "{count} وثيقة مفهرسة",
        "no_index": "لا يوجد فهرس بعد. أنشئه بالأمر: fahras index FOLDER",
        "index_unusable": "لا يمكن استخدام الفهرس: إنه تالف، أو كتبه إصدار آخر من فهرس. البحث غير متاح "
        "حتى يُصلَح (على الخادم: fahras check ثم fahras rebuild).",
        "index_outdated": "بُني هذا الفهرس بإصدار أقدم من فهرس: قد لا تظهر بعض الوثائق حتى يُعاد بناؤه "
        "(fahras rebuild).",
        "all": "الكل",
        "pagination": "التنقل بين الصفحات",
        "filters": "عوامل التصفية",
        "results": "النتائج",
        "skip_to_results": "انتقل إلى النتائج",
    },
}


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
    """``t("key", **values)`` in templates."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.strings = STRINGS[lang]

    @property
    def direction(self) -> str:
        return "rtl" if self.lang == "ar" else "ltr"

    @property
    def other(self) -> str:
        return "en" if self.lang == "ar" else "ar"

    def __call__(self, key: str, **values: object) -> str:
        text = self.strings.get(key) or STRINGS["en"][key]
        return text.format(**values) if values else text
