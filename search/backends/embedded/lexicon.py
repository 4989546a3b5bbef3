"""The embedded index's vocabulary, as the planner and the suggestions ask about it (:class:`search.backend.Lexicon`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from heapq import nlargest

from index.schema import BODY, TITLE
from search.names import Vocabulary
from search.plan import PhraseMatch, Slot

from .scoring import IndexView
from .vocabulary import Filed, vocabularies


class WhooshLexicon:
    """The terms of one searcher's index version."""

    def __init__(self, searcher, home_key: str, view: Callable[[], IndexView]) -> None:
        """``view``: the version's scoring view (made on first use), whose postings count phrases."""
        self.searcher = searcher
        self.reader = searcher.reader()
        self.home_key = home_key
        self._view = view
        self._filed: Filed | None = None

    def document_frequency(self, field: str, term: str) -> int:
        return self.reader.doc_frequency(field, term)

    def expand_prefix(self, field: str, prefix: str) -> Iterator[str]:
        filed = self.filed()
        if filed.terms is not None and field in filed.fields:  # one B-tree, not every segment's terms merged
            yield from filed.terms.starting(field, prefix)
            return
        for term in self.reader.expand_prefix(field, prefix):
            yield term.decode("utf-8") if isinstance(term, bytes) else term

    def side_by_side(self, field: str, slots: tuple[Slot, ...], limit: int) -> int:
        return self._view().phrase_count(PhraseMatch(field, slots), limit)

    def most_frequent(self, field: str, limit: int) -> list[tuple[str, int]]:
        if field not in self.reader.indexed_field_names():
            return []
        counted = ((info.doc_frequency(), term) for term, info in self.reader.iter_prefix(field, ""))
        return [
            (term.decode("utf-8") if isinstance(term, bytes) else term, count)
            for count, term in nlargest(limit, counted)
        ]

    def vocabulary(self, script: str) -> Vocabulary | None:
        return self.filed().scripts.get(script)

    def filed(self) -> Filed:
        """The version's filed words (:mod:`.vocabulary`), filed on first use: the planner's warm-up asks."""
        if self._filed is None:
            self._filed = vocabularies(self.reader, self.home_key)
        return self._filed

    def stored_text(self, field: str, term: str) -> str | None:
        if not self.reader.doc_frequency(field, term):
            return None
        docnum = next(iter(self.reader.postings(field, term).all_ids()), None)
        if docnum is None:  # every holder deleted since
            return None
        stored = self.reader.stored_fields(docnum)
        return stored.get(TITLE if field.startswith(TITLE) else BODY, "")
