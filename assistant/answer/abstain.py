"""When to say "not in the corpus": a calibrated rule on the retrieval scores and the evidence.

Answer when the best unit's dense (cosine) score reaches the language's bar,
or when the best unit leads the runner-up by a clear fused margin; and, for a
question that asks for a year, number or article, only when the best unit
states one in a sentence that matches the question (``answer.evidence_support``
reaches the language's ``min_support``). The bars are
not hand-picked: ``calibrate`` chooses them from an evaluation run (answerable
vs unanswerable questions) and ``assistant eval --calibrate`` writes them beside the index (the package ships
``assistant/answer/calibration.toml``), keyed by embedding model. The fit itself is in
:mod:`assistant.answer.calibrate`; the features it and the rule read are in :mod:`assistant.answer.evidence`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from assistant.records import Evidence

# The calibration shipped with the package; `assistant eval --calibrate` writes a user's own beside
# the index (Settings.calibration_path), which wins for the models it covers.
PACKAGED_CALIBRATION = Path(__file__).with_name("calibration.toml")


@dataclass(frozen=True)
class AbstentionPolicy:
    """Per-language rule: answer if (dense >= bar, or lead >= margin while dense >= floor)
    and the evidence support >= min_support.

    The floor keeps a question that matches nothing well (everything low, one
    unit by chance a little less low) from passing on its lead alone. The support
    gate catches on-topic passages that lack the kind of fact asked for.
    """

    min_dense: dict[str, float] = field(default_factory=lambda: {"zh": 0.0, "en": 0.0})
    clear_margin: dict[str, float] = field(default_factory=lambda: {"zh": 1.0, "en": 1.0})
    margin_floor: dict[str, float] = field(default_factory=lambda: {"zh": 0.0, "en": 0.0})
    min_support: dict[str, float] = field(default_factory=lambda: {"zh": 0.0, "en": 0.0})
    source: str = "uncalibrated"
    min_judge: dict[str, float] = field(default_factory=dict)
    """The reader's judge bar per language; applies only to the reader it was fitted for."""
    judge_reader: str = ""
    """Which reader and prompt version (``ReaderNote.name|prompt_version``) ``min_judge`` was fitted for."""

    def decide(self, lang: str, top_dense: float, lead: float, support: float = 1.0) -> bool:
        """True if the corpus is judged to answer, from the score features and the evidence support."""
        if support < self.min_support.get(lang, 0.0):
            return False
        if top_dense >= self.min_dense.get(lang, 0.0):
            return True
        return lead >= self.clear_margin.get(lang, 1.0) and top_dense >= self.margin_floor.get(lang, 0.0)

    def answers(self, lang: str, evidence: Evidence, reader: str = "") -> bool:
        """True if the corpus is judged to answer, on the features ``answer.evidence.gather`` found
        and, when ``reader`` is the one the judge bar was fitted for, the reader's judgement."""
        return self.decide(lang, evidence.top_dense, evidence.lead, evidence.support) and self.passes_judge(
            lang, evidence.judge, reader
        )

    def passes_judge(self, lang: str, judge: float | None, reader: str = "") -> bool:
        """False only when a judge bar was fitted for ``reader`` and its judgement falls below it."""
        return not self.judges(lang, reader) or (judge or 0.0) >= self.min_judge[lang]

    def judges(self, lang: str, reader: str) -> bool:
        """Whether this policy has a judge bar for ``reader`` (``name|prompt_version``) in ``lang``."""
        return bool(reader) and reader == self.judge_reader and lang in self.min_judge


def load_policy(model_name: str, *paths: Path) -> AbstentionPolicy:
    """The calibrated policy for ``model_name`` from the first of ``paths`` (default: the packaged
    calibration) that has one; an uncalibrated model never abstains. A file that cannot be read
    or parsed is skipped, so a broken user calibration falls back to the packaged one."""
    for path in paths or (PACKAGED_CALIBRATION,):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8")).get("models", {}).get(model_name)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        if data:
            return _policy_from(data, path)
    return AbstentionPolicy()


def _policy_from(data: dict, path: Path) -> AbstentionPolicy:
    return AbstentionPolicy(
        {k: float(v) for k, v in data["min_dense"].items()},
        {k: float(v) for k, v in data["clear_margin"].items()},
        {k: float(v) for k, v in data["margin_floor"].items()},
        {k: float(v) for k, v in data.get("min_support", {}).items()},
        f"calibrated:{path.name if path == PACKAGED_CALIBRATION else path}",
        {k: float(v) for k, v in data.get("min_judge", {}).items()},
        str(data.get("judge_reader", "")),
    )


def write_policy(model_name: str, policy: AbstentionPolicy, note: str, path: Path) -> None:
    """Store ``policy`` for ``model_name``, keeping other models' entries."""
    data = tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    models = data.get("models", {})
    models[model_name] = {
        "min_dense": policy.min_dense,
        "clear_margin": policy.clear_margin,
        "margin_floor": policy.margin_floor,
        "min_support": policy.min_support,
        "min_judge": policy.min_judge,
        "judge_reader": policy.judge_reader,
        "note": note,
    }
    lines = [
        "# Abstention calibration, written by `assistant eval --calibrate` (assistant/answer/abstain.py).",
        "# Answer when dense >= min_dense[lang],",
        "# or when lead >= clear_margin[lang] and dense >= margin_floor[lang];",
        "# and never when the evidence support (answer.evidence_support) < min_support[lang],",
        "# nor, with the reader named by judge_reader, when its judgement < min_judge[lang].",
        "",
    ]
    for name in sorted(models):
        entry = models[name]
        lines.append(f'[models."{name}"]')
        for key in ("min_dense", "clear_margin", "margin_floor", "min_support"):
            values = ", ".join(f"{k} = {v}" for k, v in sorted(entry.get(key, {}).items()))
            lines.append(f"{key} = {{ {values} }}")
        if entry.get("min_judge"):  # only with a reader: files without one stay as they were
            values = ", ".join(f"{k} = {v}" for k, v in sorted(entry["min_judge"].items()))
            lines += [f"min_judge = {{ {values} }}", f'judge_reader = "{entry.get("judge_reader", "")}"']
        lines += [
            f'note = "{entry.get("note", "")}"',
            "",
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    tmp.replace(path)
