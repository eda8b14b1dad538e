"""The frozen dataclasses that carry data through the pipeline.

Document -> Paragraph -> Chunk -> Hit -> Answer (with Citation).
Every id is derived from content and position, never random, so refs and evals
are reproducible across rebuilds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Lang = Literal["zh", "en"]
ParagraphKind = Literal["body", "footnote", "abstract", "abstract-en", "keywords", "keywords-en", "reference"]


@dataclass(frozen=True)
class DocumentMeta:
    """Bibliographic facts about one paper, read from its metadata sidecar."""

    doc_id: str
    title: str
    title_en: str = ""
    short_title: str = ""
    authors: tuple[str, ...] = ()
    affiliation: str = ""
    journal: str = ""
    year: int | None = None
    issue: str = ""
    doi: str = ""
    source: str = ""
    """The name of the file the document was added from (empty for the bundled seeds)."""
    pages: int = 0
    """Page count of the source (0 for formats without pages)."""
    added: str = ""
    """When ``assistant add`` took it in (ISO 8601 UTC); empty for documents placed by hand."""

    @property
    def label(self) -> str:
        """A short human label for citation lines."""
        return self.short_title or self.title


@dataclass(frozen=True)
class Paragraph:
    """One addressable unit of a document: a body paragraph, footnote, abstract...

    ``ref`` is ``<doc_id>:p<n>`` for body paragraphs (n counts body paragraphs
    from 1 in reading order) and ``<doc_id>:<label>`` for other kinds
    (``fn3``, ``abstract``, ``abstract-en``, ``keywords`` ...).
    ``section`` is the heading path, outermost first.
    ``number`` is the body paragraph number, or 0 for non-body units.
    ``links`` holds refs of related units: for a body paragraph, the footnotes
    whose markers it carries; for a footnote, the paragraph carrying its marker.
    """

    ref: str
    doc_id: str
    kind: ParagraphKind
    number: int
    section: tuple[str, ...]
    text: str
    links: tuple[str, ...] = ()
    page_start: int | None = None
    """First page the unit is printed on (None when the source has no pages, e.g. a ``.txt``)."""
    page_end: int | None = None
    """Last page it is printed on (equal to ``page_start`` for a unit on one page)."""

    @property
    def pages_label(self) -> str:
        """``p. 7``, ``pp. 7–8``, or empty without pages: the page a researcher cites."""
        if self.page_start is None:
            return ""
        end = self.page_end or self.page_start
        return f"p. {self.page_start}" if end == self.page_start else f"pp. {self.page_start}–{end}"

    @property
    def cite_label(self) -> str:
        """The ref with its pages, as citations show it: ``li-2023:p14 · p. 7`` (the ref alone
        without pages)."""
        return f"{self.ref} · {self.pages_label}" if self.page_start is not None else self.ref

    @property
    def section_label(self) -> str:
        """The section path as one readable string."""
        return " ".join(self.section)


@dataclass(frozen=True)
class Document:
    """A cleaned document: its metadata, the hash of its source text and its units in reading order."""

    meta: DocumentMeta
    source_sha256: str
    paragraphs: tuple[Paragraph, ...]

    @property
    def doc_id(self) -> str:
        return self.meta.doc_id


@dataclass(frozen=True)
class Chunk:
    """A sentence-aligned slice of one paragraph; never spans two paragraphs.

    ``text == paragraph.text[start:end]``. ``chunk_id`` hashes ref, offsets and text.
    ``sentence`` marks one sentence indexed beside the window of several that holds it.
    """

    chunk_id: str
    ref: str
    doc_id: str
    start: int
    end: int
    text: str
    sentence: bool = False


@dataclass(frozen=True)
class Hit:
    """A retrieved paragraph with its score; ``chunk`` is the best-matching chunk inside it."""

    rank: int
    paragraph: Paragraph
    score: float
    chunk: Chunk | None = None
    scores: dict[str, float] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Evidence:
    """The features the answer-or-abstain verdict is decided on (``answer.evidence.gather``).

    Computed from the full ranked candidate list, before it is cut to the passages shown.
    """

    top_dense: float
    """The best unit's dense score: its best window's cosine with the question."""
    lead: float
    """The best unit's fused score minus the runner-up's (0 with no runner-up)."""
    support: float = 1.0
    """How well the best unit states the kind of fact asked for (1.0 for open questions)."""
    judge: float | None = None
    """The reader's probability that the best unit states the answer (None without a reader)."""


@dataclass(frozen=True)
class Citation:
    """A quoted piece of evidence: ``quote`` is an exact substring of ``paragraph.text``."""

    n: int
    paragraph: Paragraph
    title: str
    quote: str
    score: float
    rendering: str | None = None
    """A machine rendering of ``quote`` in the question's language (never evidence itself)."""


@dataclass(frozen=True)
class ReaderNote:
    """What the reader did for one answer, for the record."""

    name: str
    """Which reader and model (``llama.cpp:<model>``, ``openai:<model>@<url>``)."""
    prompt_version: str
    judge: float | None = None
    """Its probability that the best unit states the answer."""
    selected: tuple[int, ...] = ()
    """1-based sentences of the best unit it chose to quote (empty: quoted as without a reader)."""
    notice: str = ""
    """One line when the reader failed; the extractive answer stands."""
    timings_ms: dict[str, float] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Answer:
    """The composed answer to one question."""

    question: str
    lang: Lang
    answerable: bool
    text: str
    citations: tuple[Citation, ...]
    passages: tuple[Hit, ...]
    timings_ms: dict[str, float] = field(default_factory=dict, compare=False, hash=False)
    trace: Any = field(default=None, compare=False, hash=False)
    """How retrieval saw the question (a ``search.retrieval.Retrieval``), for ``--explain``."""
    evidence: Evidence = field(default_factory=lambda: Evidence(0.0, 0.0, 1.0), compare=False, hash=False)
    reader: ReaderNote | None = field(default=None, compare=False, hash=False)
    """What the reader did (None when answered without one)."""
    """What the verdict was decided on (``answer.evidence.gather``), whatever ``-k`` is."""

    @property
    def support(self) -> float:
        """How well the top passage states the kind of fact asked for (``evidence.support``)."""
        return self.evidence.support
