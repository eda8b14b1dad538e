"""One error base class: every user-facing error reaches the terminal as one line and its exit code."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from assistant import errors
from assistant.errors import AssistantError
from assistant.index.embedder import HashingEmbedder
from tests.conftest import assert_one_line_error, run_cli


def all_subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *all_subclasses(sub)]
    return out


SUBCLASSES = all_subclasses(AssistantError)


class FailingEmbedder(HashingEmbedder):
    """Raises ``error`` when asked to embed a question (same fingerprint as the index it answers from)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(64)
        self.error = error

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        raise self.error


def test_every_user_facing_error_derives_from_the_base() -> None:
    names = {c.__name__ for c in SUBCLASSES}
    assert {"QuestionError", "CorpusError", "GlossaryError", "IndexStoreError", "ModelError"} <= names
    assert {"ServeError", "BatchInputError", "UsageError"} <= names


@pytest.mark.parametrize("cls", SUBCLASSES, ids=lambda c: c.__name__)
def test_each_error_is_one_line_and_its_exit_code(
    cls: type[AssistantError], corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["index"], corpus, capsys)[0] == 0
    error = cls(f"something about {cls.__name__} went wrong; run `assistant index`")
    code, out, err = run_cli(
        ["ask", "--no-server", "什么是负向一体化？"], corpus, capsys, FailingEmbedder(error)
    )
    assert code == cls.exit_code
    assert out == ""
    assert_one_line_error(err)
    assert cls.__name__ in err


def test_exit_codes_are_distinct_by_meaning() -> None:
    assert errors.QuestionError.exit_code == errors.EXIT_BAD_INPUT == 2
    assert errors.IndexStoreError.exit_code == errors.EXIT_ENV == 1
    assert errors.EXIT_SOME_ERRORS == 3 and errors.EXIT_INTERRUPTED == 130


def test_a_multi_line_message_is_folded_to_one() -> None:
    assert errors.error_line(errors.CorpusError("bad file\n  line 2")) == "assistant: error: bad file line 2"


@pytest.mark.parametrize(
    "row",
    [
        "负向一体化\tnegative integration\tNI\textra",  # four fields
        "negative integration\t负向一体化",  # languages swapped
        "负向一体化",  # one field
    ],
)
def test_a_bad_glossary_row_is_one_line_not_a_traceback(
    row: str, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression: a corpus/glossary.tsv row with four fields made `assistant index` print a traceback."""
    (corpus / "glossary.tsv").write_text(f"# zh\ten\tabbr\n{row}\n", encoding="utf-8")
    code, _, err = run_cli(["index"], corpus, capsys)
    assert code == errors.EXIT_ENV
    assert_one_line_error(err)
    assert "glossary.tsv:2" in err
    assert not (corpus.parent / "index" / "CURRENT").exists()  # nothing half-built
