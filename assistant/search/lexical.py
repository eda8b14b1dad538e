"""The lexical side of retrieval: BM25 (bm25s) over jieba tokens (Chinese) and lowercased words (English).

The segmenter knows the glossary's Chinese terms, so domain terms such as
负向一体化 stay whole tokens instead of being cut into 负 / 向 / 一体化.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from assistant.records import Paragraph
from assistant.text import BM25_STOPWORDS, make_segmenter, tokenize

_PUNCT = re.compile(r"^\W+$")


class LexicalIndex:
    """BM25 over whole units (paragraphs, footnotes, abstracts), scored for every unit at once."""

    def __init__(self, units: Sequence[Paragraph], terms: Iterable[str] = ()) -> None:
        import bm25s

        self._segmenter = make_segmenter(terms)
        self.refs = [u.ref for u in units]
        corpus = [tokenize(u.text, self._segmenter) or ["∅"] for u in units]
        self._vocab = {t for doc in corpus for t in doc}
        self._df = Counter(t for doc in corpus for t in set(doc))
        self._n = len(corpus)
        self._bm25 = bm25s.BM25()
        self._bm25.index(corpus, show_progress=False)

    def _content_tokens(self, text: str) -> list[str]:
        return [t for t in tokenize(text, self._segmenter) if t not in BM25_STOPWORDS and not _PUNCT.match(t)]

    def query_tokens(self, text: str) -> list[str]:
        """Content tokens of a question (stopwords and punctuation dropped) that occur in the corpus."""
        return self.analyse(text)[0]

    def analyse(self, text: str) -> tuple[list[str], float]:
        """The question's content tokens that occur in the corpus, and its ``coverage``."""
        content = self._content_tokens(text)
        return [t for t in content if t in self._vocab], self._coverage(set(content))

    def _idf(self, token: str) -> float:
        # bm25s's default (Lucene) idf; a word the corpus lacks gets the highest value
        df = self._df.get(token, 0)
        return math.log(1 + (self._n - df + 0.5) / (df + 0.5))

    def coverage(self, text: str) -> float:
        """Share of the question's content (idf-weighted, distinct tokens) that the corpus contains.

        BM25 normalised by the query's best score gives the best-matching unit the full lexical
        weight even when it matches one word of a question the corpus knows nothing else of
        ("明天北京会下雨吗": only 北京 occurs, in one paragraph). Scaling by coverage keeps the
        weight for questions in the corpus's vocabulary and shrinks it for the rest.
        """
        return self._coverage(set(self._content_tokens(text)))

    def _coverage(self, tokens: set[str]) -> float:
        total = sum(self._idf(t) for t in tokens)
        if not total:
            return 0.0
        return sum(self._idf(t) for t in tokens if t in self._vocab) / total

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every unit (aligned with ``refs``); zeros when no token is known."""
        known = [t for t in tokens if t in self._vocab]
        if not known:
            return np.zeros(len(self.refs), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)
