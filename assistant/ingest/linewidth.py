"""Typeset line width: how wide a line of a PDF-extracted text was as printed, in em.

Paragraph ends and headings show up as lines narrower than the page's measure, so the cleaner
needs each paper's own measure and glyph widths; :class:`LineWidthModel` fits them per document.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from assistant.text import MARKER

_WIDTH_KEYS = ("punct", "amb", "upper", "lower", "digit", "other")
# Typical widths in em (one ideograph = 1 em); the per-document fit pulls towards these.
_WIDTH_PRIOR = (1.0, 1.0, 0.7, 0.5, 0.55, 0.3)
_SUPERSCRIPTS = re.compile(MARKER)


def width_features(text: str) -> tuple[int, tuple[int, ...]]:
    """Count a line's glyph classes: (ideographs, (CJK punct, ambiguous, upper, lower, digit, other)).

    Superscript reference and footnote markers are left out: they take almost no room on the line.
    """
    text = _SUPERSCRIPTS.sub("", text)
    ideo = 0
    counts = [0] * 6
    for ch in text:
        eaw = unicodedata.east_asian_width(ch)
        if eaw in "WF":
            if ch.isalnum():
                ideo += 1
            else:
                counts[0] += 1
        elif eaw == "A":
            counts[1] += 1
        elif ch.isupper():
            counts[2] += 1
        elif ch.islower():
            counts[3] += 1
        elif ch.isdigit():
            counts[4] += 1
        else:
            counts[5] += 1
    return ideo, tuple(counts)


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Solve a small dense linear system by Gauss-Jordan elimination with partial pivoting."""
    n = len(b)
    m = [[*row, b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        if abs(m[c][c]) < 1e-12:
            continue
        for r in range(n):
            if r != c:
                f = m[r][c] / m[c][c]
                m[r] = [x - f * y for x, y in zip(m[r], m[c], strict=True)]
    return [m[i][n] / m[i][i] if abs(m[i][i]) > 1e-12 else 0.0 for i in range(n)]


class LineWidthModel:
    """Per-document estimate of how wide (in em) a line is as typeset, and of the full line width.

    Fitted on lines that must be full (they neither end nor follow a sentence end): the number of
    ideographs on such a line plus the weighted count of other glyphs is the measure ``full``. The
    glyph weights are fitted by ridge regression towards typical values, because fonts differ
    (one journal sets curly quotes full-width, another half-width; some compress punctuation).
    """

    def __init__(self, full: float, weights: Sequence[float]) -> None:
        self.full = full
        self.weights = tuple(weights)

    def width(self, text: str) -> float:
        """Estimated typeset width of ``text`` in em."""
        ideo, counts = width_features(text)
        return ideo + sum(w * c for w, c in zip(self.weights, counts, strict=True))

    @classmethod
    def fit(cls, full_lines: Sequence[str], ridge: float = 8.0) -> LineWidthModel:
        """Fit on lines believed to be full; outliers (lines that were short after all) are dropped."""
        rows = [width_features(t) for t in full_lines]
        rows = [r for r in rows if r[0] >= 8]
        if len(rows) < 5:
            # Too little text to measure (a snippet): assume a common Chinese journal measure.
            widths = [r[0] + sum(w * c for w, c in zip(_WIDTH_PRIOR, r[1], strict=True)) for r in rows]
            return cls(max([40.0, *widths]), _WIDTH_PRIOR)
        coef = [0.0, *_WIDTH_PRIOR]
        keep = rows
        for _ in range(4):
            # y = full - sum(w_k x_k)  ->  unknowns (full, w_1..w_6) with design row (1, -x_1..-x_6)
            n = 7
            ata = [[0.0] * n for _ in range(n)]
            atb = [0.0] * n
            for ideo, counts in keep:
                x = [1.0, *(-c for c in counts)]
                for i in range(n):
                    atb[i] += x[i] * ideo
                    for j in range(n):
                        ata[i][j] += x[i] * x[j]
            for k in range(1, n):
                ata[k][k] += ridge
                atb[k] += ridge * _WIDTH_PRIOR[k - 1]
            coef = _solve(ata, atb)
            model = cls(coef[0], coef[1:])
            keep = [r for r in rows if abs(model.full - model.width_of(r)) < 1.5]
            if len(keep) < 5:
                break
        return cls(coef[0], coef[1:])

    def width_of(self, feats: tuple[int, tuple[int, ...]]) -> float:
        """Width from precomputed :func:`width_features`."""
        return feats[0] + sum(w * c for w, c in zip(self.weights, feats[1], strict=True))
