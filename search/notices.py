"""Why results are what they are: one typed notice, said by the CLI, the page and the JSON API.

The API sends :meth:`Notice.to_json`; the page and its script render the same
fields in the interface language (web/messages.py); the CLI says
:meth:`Notice.describe`.
"""

from __future__ import annotations

from dataclasses import dataclass

SPELLING = "spelling"  # a correction searched: for the whole query, or beside the words that matched nothing
KEYBOARD = "keyboard"  # the query typed on the other keyboard layout, searched as the letters meant
STOP_WORDS = "stop_words"  # nothing searchable was left: every word is too common
PLAIN_TEXT = "plain_text"  # the query's syntax was broken (pasted text): it was searched as plain words
KINDS = (SPELLING, KEYBOARD, STOP_WORDS, PLAIN_TEXT)


@dataclass(frozen=True)
class Notice:
    kind: str
    searched: str | None = None  # what was searched (spelling, keyboard)
    original: str | None = None  # the query as typed (spelling, keyboard)
    words: tuple[str, ...] = ()  # stop words; or the typed words that matched nothing (spelling)
    detail: str | None = None  # plain_text: what was wrong with the syntax, in English

    def to_json(self) -> dict:
        """The API's form: the kind, and each field that applies."""
        data: dict = {"kind": self.kind}
        if self.searched is not None:
            data.update(searched=self.searched, original=self.original)
        if self.words:
            data["words"] = list(self.words)
        if self.detail:
            data["detail"] = self.detail
        return data

    def describe(self) -> str:
        """The line that tells a terminal user why the results are what they are."""
        if self.kind == PLAIN_TEXT:
            return f"Searched as plain words: {self.searched!r} ({self.detail})"
        if self.kind == STOP_WORDS:
            words = ", ".join(repr(word) for word in self.words)
            verb = "is" if len(self.words) == 1 else "are"
            return f"Nothing to search for: {words} {verb} too common to search (stop words)."
        reason = "typed on the other keyboard layout" if self.kind == KEYBOARD else "no matches as typed"
        if self.words:  # words of the query that matched nothing, searched with an alternative
            reason = f"{', '.join(repr(word) for word in self.words)}: no matches as typed"
        return f"Showing results for {self.searched!r} ({reason}); --verbatim searches {self.original!r} as typed."
