"""What the papers put in the parenthesis after a term, and which of those pairs are terms at all.

:func:`parse_gloss` reads 中文（English）, 全称（ABBR）, 中文（English，下称ABBR）...;
:func:`is_predicate` drops pairs that gloss advice rather than name a thing (可考虑（may take into
consideration））; :func:`read_user_file` reads the user's own pairs. The Chinese boundary is
chosen in :mod:`assistant.ingest.glossary`.
"""

from __future__ import annotations

import re
from pathlib import Path

from assistant.errors import GlossaryError
from assistant.text import CJK_IDEO, GLOSS_STOPWORDS, PREPOSITIONS

MAX_EN_WORDS = 8
_CJK = re.compile(f"[{CJK_IDEO}]")
# An abbreviation: capital first, then capitals/digits (inner . - & / allowed: WP.29, S&DT),
# optionally a plural s (SAAs); 2-10 letters and digits in all.
_ABBR = re.compile(r"[A-Z](?:[A-Z0-9]|[.\-&/](?=[A-Z0-9]))+s?")
_ABBR_WITH_ZH = re.compile(f"({_ABBR.pattern})[{CJK_IDEO}]{{1,2}}")  # TRIPS协定 -> TRIPS
_HENCEFORTH = re.compile(r"(?:以下)?(?:下称|简称|以下简称)[:：]?\s*[“\"《]?(.+?)[”\"》]?")
_LATIN_PHRASE = re.compile(r"[A-Za-z][A-Za-z'’\-. &/]*[A-Za-z.']")
_NOT_TERM = re.compile(r"(?<!\d)(?:1[5-9]|20)\d\d(?!\d)|\bp\.\s*\d|https?:|www\.|\.(?:com|org|gov)\b|et al")
_QUOTES = "《》“”\"'‘’「」 "


def _abbr_ok(token: str) -> bool:
    return bool(_ABBR.fullmatch(token)) and 2 <= sum(ch.isalnum() for ch in token) <= 10


def parse_gloss(inside: str) -> tuple[str, str] | None:
    """Split the text inside a parenthesis into ``(en, abbr)``, or None when it is not a term gloss.

    Accepts "English term", "ABBR", "English，ABBR", "English，下称ABBR", "下称《ABBR协议》" and
    "ABBR协定". Rejects citations and dates (any four-digit year), page references, URLs, text with
    other Chinese in it and English longer than eight words. A leading article is dropped from the
    English ("the global value chains" -> "global value chains") so it matches questions without it.
    """
    text = " ".join(inside.split()).strip(_QUOTES)
    if not text or _NOT_TERM.search(text):
        return None
    en, abbr = "", ""
    for part in re.split(r"\s*[，,;；]\s*", text):
        part = part.strip(_QUOTES)
        later = _HENCEFORTH.fullmatch(part)
        if later:
            m = _ABBR.match(later.group(1).strip(_QUOTES))
            token = m.group() if m else ""
        elif _abbr_ok(part):
            token = part
        elif (m := _ABBR_WITH_ZH.fullmatch(part)) and _abbr_ok(m.group(1)):
            token = m.group(1)
        elif _LATIN_PHRASE.fullmatch(part) and not en:
            en = part
            continue
        else:
            return None
        if abbr or not _abbr_ok(token):
            return None
        abbr = token
    if en:
        en = re.sub(r"^(?:the|The|THE)\s+", "", en)
        words = en.replace("-", " ").split()
        if len(words) > MAX_EN_WORDS or len(en) < 3 or not content_words(en):
            return None
        if words[0].lower() in PREPOSITIONS or words[-1].lower() in PREPOSITIONS:
            return None
    return (en, abbr) if en or abbr else None


def content_words(en: str) -> list[str]:
    """The content words of an English term: letters only, stop words and lone initials left out."""
    return [w for w in re.findall(r"[A-Za-z]+", en) if w.lower() not in GLOSS_STOPWORDS and len(w) > 1]


def _size_units(en: str, abbr: str) -> int:
    """How many "words" the Chinese term should render: English content words (a long compound such
    as "minilateralism" counts twice), or for a bare abbreviation its capitals and digit groups."""
    if en:
        return max(1, sum(2 if len(w) >= 12 else 1 for w in content_words(en)))
    return max(1, sum(ch.isupper() for ch in abbr) + len(re.findall(r"\d+", abbr)))


# English modal auxiliaries: a gloss opening with one ("should encourage", "may take into
# consideration") is a predicate of the author's advice, never the name of a thing.
EN_MODALS = frozenset("may might can could shall should must will would ought need needs".split())
# Chinese modal words as jieba cuts them off the front (宜|鼓励, 应|考虑, 必须|采取). 可, 能, 会 and
# 要 are left out: as lone words they also open terms (可|持续|发展 is sustainable development).
ZH_MODALS = frozenset("宜 应 须 应当 应该 必须 需要 可以 务必".split())


def is_predicate(zh_words: list[str], en: str) -> bool:
    """True when a mined pair glosses a recommendation (modal + verb), not a term.

    ``zh_words`` is the Chinese side cut by jieba. Either side is enough: an English side that
    opens with a modal auxiliary ("may take into consideration" for 可考虑), or a Chinese side that
    opens with a modal word and has a verb after it (宜|鼓励, 应|考虑). A hyphenated compound
    ("must-carry rules") opens with a word of its own and is kept.
    """
    first = en.split(maxsplit=1)[0].lower() if en.strip() else ""
    if first in EN_MODALS and len(en.split()) > 1:
        return True
    return len(zh_words) >= 2 and zh_words[0] in ZH_MODALS


def read_user_file(path: Path) -> list[tuple[str, str, str]]:
    """Parse ``zh<TAB>en[<TAB>abbr]`` lines; raise :class:`GlossaryError` naming file:line on a bad one."""
    try:
        lines = path.read_text(encoding="utf-8").removeprefix("\ufeff").splitlines()
    except UnicodeDecodeError:
        raise GlossaryError(f"{path}: not valid UTF-8; re-save the glossary as UTF-8") from None
    rows = []
    for no, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [f.strip() for f in line.rstrip("\r\n").split("\t")]
        where = f"{path}:{no}"
        if len(fields) not in (2, 3):
            raise GlossaryError(f"{where}: expected zh<TAB>en[<TAB>abbr], got {len(fields)} field(s)")
        zh, en, abbr = (*fields, "")[:3]
        if not _CJK.search(zh) or len(zh) > 40:
            raise GlossaryError(f"{where}: first field {zh!r} must be a Chinese term")
        if _CJK.search(en) or not (en or abbr):
            raise GlossaryError(f"{where}: second field {en!r} must be an English term (no Chinese)")
        if abbr and not _abbr_ok(abbr):
            raise GlossaryError(f"{where}: abbreviation {abbr!r} must be 2-10 capitals/digits such as TBT")
        rows.append((zh, " ".join(en.split()), abbr))
    return rows
