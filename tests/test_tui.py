"""The terminal UI driven headlessly (Textual pilot) over a deterministic fake engine, plus snapshots.

The fake is a real :class:`Engine` over the tiny inline corpus (hashing embedder), whose
``ask`` re-scores the retrieved passages with fixed scores and fixed timings so that
answers, citations and screenshots are the same on every run.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from rich.text import Text
from textual import events
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, Static
from textual.widgets._toast import Toast

from assistant.answer.compose import compose
from assistant.apps.tui.app import AssistantApp, open_engine
from assistant.apps.tui.render import MARK
from assistant.apps.tui.screens import FilterScreen, HelpScreen, ReaderScreen
from assistant.apps.tui.widgets import NavList
from assistant.engine import Engine, Settings, clean_question
from assistant.index.embedder import HashingEmbedder
from assistant.index.models import ModelError
from assistant.index.store import IndexStoreError, build_index, load_index
from assistant.records import Answer, DocumentMeta, Paragraph

SIZE = (100, 32)
SCORES = (0.81, 0.79, 0.78, 0.52, 0.41)  # three within the citation margin: three citations
OFF_TOPIC = ("bread", "面包")
TIMINGS = {"embed": 30.0, "search": 1.5, "compose": 0.5, "total": 32.0}


class FakeEngine(Engine):
    """The real engine over the tiny corpus, with fixed scores and timings and an optional gate.

    ``gate`` (a threading.Event) holds every ask until it is set, to test cancellation
    and superseding; ``calls`` records ``(question, doc_ids)`` of every ask.
    """

    def __init__(self, base: Engine, gate: threading.Event | None = None) -> None:
        super().__init__(base.settings, base.embedder, base.index)
        self.gate = gate
        self.calls: list[tuple[str, list[str] | None]] = []

    def ask(self, question: str, k: int | None = None, doc_ids: Sequence[str] | None = None) -> Answer:
        self.calls.append((question, list(doc_ids) if doc_ids else None))
        if self.gate is not None:
            self.gate.wait(10)
        text, lang = clean_question(question)
        passages = super().ask(question, k, doc_ids).passages
        off = any(w in text.lower() for w in OFF_TOPIC)
        hits = [
            replace(h, rank=i + 1, score=(s / 4 if off else s))
            for i, (h, s) in enumerate(zip(passages, SCORES, strict=False))
        ]
        answer = compose(text, lang, hits, self.documents, bool(hits) and hits[0].score >= 0.5)
        return replace(answer, timings_ms=dict(TIMINGS))


@pytest.fixture(scope="module")
def base_engine(tmp_path_factory) -> Engine:
    from conftest import make_documents

    index_dir = tmp_path_factory.mktemp("tui-index")
    embedder = HashingEmbedder(dim=128)
    build_index(make_documents(), embedder, index_dir, "c1")
    settings = Settings(corpus_dir=index_dir / "corpus", index_dir=index_dir)
    return Engine(settings, embedder, load_index(index_dir))


@pytest.fixture
def fake(base_engine: Engine) -> FakeEngine:
    return FakeEngine(base_engine)


def make_app(factory: Callable[[], Engine], lang: str = "en") -> AssistantApp:
    return AssistantApp(factory, lang=lang)  # type: ignore[arg-type]


async def until(pilot: Pilot, cond: Callable[[], object], timeout: float = 10.0) -> None:
    """Let the app run until ``cond()`` holds (workers are threads, so poll)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.02)


def plain(app: AssistantApp, selector: str) -> str:
    """The plain text a Static shows."""
    content = app.query_one(selector, Static).content
    return content.plain if isinstance(content, Text) else str(content)


async def ask(pilot: Pilot, app: AssistantApp, question: str, timeout: float = 10.0) -> Answer:
    """Type a question, press Enter and wait for its answer."""
    await until(pilot, lambda: app._engine is not None)
    before = app._answer
    box = app.query_one("#question", Input)
    box.focus()
    box.value = question
    await pilot.press("enter")
    await until(pilot, lambda: app._answer is not before and app._busy_since is None, timeout)
    await pilot.pause()
    assert app._answer is not None
    return app._answer


def highlighted_text(app: AssistantApp) -> str:
    """The part of the evidence pane styled as the quoted sentence."""
    content = app.query_one("#evidence", Static).content
    assert isinstance(content, Text)
    return "".join(content.plain[s.start : s.end] for s in content.spans if str(s.style) == MARK)


# ---------------------------------------------------------------- asking and reading


@pytest.mark.asyncio
async def test_ask_shows_answer_citations_and_evidence(fake: FakeEngine) -> None:
    app = make_app(lambda: fake)
    async with app.run_test(size=SIZE) as pilot:
        answer = await ask(pilot, app, "负向一体化是指什么？")
        assert answer.answerable and len(answer.citations) == 3
        answers = app.query_one("#answer", NavList)
        assert answers.option_count == 1 + len(answer.citations)
        assert answers.has_focus  # the answer took focus: j/k work straight away
        first = answer.citations[0]
        assert first.paragraph.text in plain(app, "#evidence")
        assert highlighted_text(app) == first.quote
        status = plain(app, "#status")
        assert "上次耗时 32 ms" in status and "2 篇文献，5 个段落" in status
        assert app.lang == "zh" and "中文" in status  # labels followed the question


@pytest.mark.asyncio
async def test_moving_between_citations_updates_the_evidence(fake: FakeEngine) -> None:
    app = make_app(lambda: fake)
    async with app.run_test(size=SIZE) as pilot:
        answer = await ask(pilot, app, "负向一体化是指什么？")
        seen = [highlighted_text(app)]
        await pilot.press("j")
        seen.append(highlighted_text(app))
        await pilot.press("down")
        seen.append(highlighted_text(app))
        assert seen == [c.quote for c in answer.citations]
        await pilot.press("k")
        assert highlighted_text(app) == answer.citations[1].quote
        ref = answer.citations[1].paragraph.ref
        assert ref in str(app.query_one("#evidence-pane").border_title)


@pytest.mark.asyncio
async def test_sources_list_and_down_from_the_last_citation(fake: FakeEngine) -> None:
    app = make_app(lambda: fake)
    async with app.run_test(size=SIZE) as pilot:
        answer = await ask(pilot, app, "负向一体化是指什么？")
        sources = app.query_one("#sources", NavList)
        assert sources.option_count == len(answer.passages) == 5
        await pilot.press("j", "j", "j")  # past the third citation: into the sources
        assert sources.has_focus and sources.highlighted == 0
        await pilot.press("j", "j", "j")
        hit = answer.passages[3]
        assert hit.paragraph.text in plain(app, "#evidence")
        assert f"{hit.score:.3f}" in plain(app, "#evidence")
        await pilot.press("k", "k", "k", "k")  # up from the first source: back to the citations
        assert app.query_one("#answer").has_focus


@pytest.mark.asyncio
async def test_not_in_corpus_still_lists_sources(fake: FakeEngine) -> None:
    app = make_app(lambda: fake)
    async with app.run_test(size=SIZE) as pilot:
        answer = await ask(pilot, app, "How do I bake bread?")
        assert not answer.answerable and answer.passages
        assert app.query_one("#sources", NavList).has_focus
        assert answer.passages[0].paragraph.text in plain(app, "#evidence")
        assert app.lang == "en"


@pytest.mark.asyncio
async def test_empty_input_is_ignored(fake: FakeEngine) -> None:
    app = make_app(lambda: fake)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app._engine is not None)
        await pilot.press("enter", "space", "space", "enter")
        await pilot.pause(0.1)
        assert fake.calls == [] and app._answer is None and app._busy_since is None


@pytest.mark.asyncio
async def test_keys_do_not_fire_while_typing(fake: FakeEngine) -> None:
    app = make_app(lambda: fake)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app._engine is not None)
        await pilot.press(*"fojkyl?q")
        assert app.query_one("#question", Input).value == "fojkyl?q"
        assert not isinstance(app.screen, HelpScreen | FilterScreen) and app.lang == "en"
        assert app.is_running


@pytest.mark.asyncio
async def test_history_with_up_and_down(fake: FakeEngine) -> None:
    app = make_app(lambda: fake)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, app, "first question about integration")
        await ask(pilot, app, "second question about Doha")
        box = app.query_one("#question", Input)
        box.focus()
        box.value = "draft"
        await pilot.press("up")
        assert box.value == "second question about Doha"
        await pilot.press("up", "up")
        assert box.value == "first question about integration"
        await pilot.press("down", "down")
        assert box.value == "draft"


@pytest.mark.asyncio
async def test_copy_puts_ref_and_quote_on_the_clipboard(fake: FakeEngine) -> None:
    app = make_app(lambda: fake)
    async with app.run_test(size=SIZE) as pilot:
        answer = await ask(pilot, app, "负向一体化是指什么？")
        await pilot.press("j", "y")
        second = answer.citations[1]
        assert second.quote in app.clipboard and second.paragraph.ref in app.clipboard
        assert any(second.paragraph.ref in str(n.message) for n in app._notifications)


@pytest.mark.asyncio
async def test_reader_opens_the_whole_document_at_the_cited_unit(fake: FakeEngine) -> None:
    app = make_app(lambda: fake)
    async with app.run_test(size=SIZE) as pilot:
        answer = await ask(pilot, app, "负向一体化是指什么？")
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, ReaderScreen))
        reader = app.screen
        assert isinstance(reader, ReaderScreen)
        first = answer.citations[0].paragraph
        assert reader.target == first.ref
        assert [u.ref for u in reader.units] == [p.ref for p in fake.index.doc_paragraphs(first.doc_id)]
        target = reader.query_one(".-target", Static)
        assert isinstance(target.content, Text) and first.text in target.content.plain
        await pilot.press("n")  # next cited unit in the same document
        await pilot.press("escape")
        assert not isinstance(app.screen, ReaderScreen)
        await pilot.press("enter")  # Enter on a citation opens the reader too
        assert isinstance(app.screen, ReaderScreen)
        await pilot.press("q")
        assert not isinstance(app.screen, ReaderScreen) and app.is_running


@pytest.mark.asyncio
async def test_filter_restricts_the_documents_searched(fake: FakeEngine) -> None:
    app = make_app(lambda: fake)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, app, "负向一体化是指什么？")
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, FilterScreen))
        await pilot.press("space")  # untick the first document (alpha-2020, sorted by id)
        calls = len(fake.calls)
        await pilot.press("enter")  # apply: the current question is asked again
        await until(pilot, lambda: len(fake.calls) > calls and app._busy_since is None)
        await pilot.pause()
        assert fake.calls[-1] == ("负向一体化是指什么？", ["beta-2023"])
        assert app._answer is not None
        assert {h.paragraph.doc_id for h in app._answer.passages} == {"beta-2023"}
        assert "筛选 1/2 篇" in plain(app, "#status")
        answer = await ask(pilot, app, "What is consensus decision making?")
        assert fake.calls[-1][1] == ["beta-2023"]
        assert "filter 1/2 docs" in plain(app, "#status") and answer.lang == "en"
        await pilot.press("f", "a", "enter")  # all documents again: no filter is passed
        await until(pilot, lambda: app._busy_since is None and fake.calls[-1][1] is None)
        await pilot.press("f", "escape")  # cancel keeps the filter
        assert app._filter is None and not isinstance(app.screen, FilterScreen)


@pytest.mark.asyncio
async def test_help_lists_every_key(fake: FakeEngine) -> None:
    app = make_app(lambda: fake)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app._engine is not None)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        app.query_one("#answer").focus()
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        from assistant.apps.tui.i18n import KEYS

        table = app.screen.query_one("#help-keys", Static).content
        keys = [str(cell) for cell in table.columns[0]._cells]  # type: ignore[union-attr]
        assert keys == [k for k, _, _ in KEYS]
        for key in ("Enter", "Esc", "Ctrl+L", "? / F1", "q / Ctrl+C"):
            assert key in keys
        await pilot.press("q")
        assert not isinstance(app.screen, HelpScreen) and app.is_running


@pytest.mark.parametrize(
    ("error", "command"),
    [
        (
            IndexStoreError("no index found in /data/.index; run `assistant index` to rebuild it"),
            "assistant index",
        ),
        (ModelError("model google/embeddinggemma-300m not found; run `assistant models fetch`"), None),
        (RuntimeError("something odd"), None),
    ],
)
@pytest.mark.asyncio
async def test_start_up_errors_show_a_panel_with_the_fix(error: Exception, command: str | None) -> None:
    def broken() -> Engine:
        raise error

    app = make_app(broken)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app._load_error is not None)
        await pilot.pause()
        assert app.query_one("#error").display and not app.query_one("#body").display
        text = plain(app, "#error-text")
        assert str(error) in text and "Traceback" not in text
        fix = command or ("assistant models fetch" if isinstance(error, ModelError) else None)
        if fix:
            assert f"    {fix}    " in text  # the command, on its own, ready to copy
        else:
            assert "report" in text
        assert app.query_one("#question", Input).disabled
        assert "error" in plain(app, "#status")


@pytest.mark.asyncio
async def test_retry_after_an_error_loads_the_engine(fake: FakeEngine) -> None:
    attempts: list[int] = []

    def flaky() -> Engine:
        attempts.append(1)
        if len(attempts) == 1:
            raise IndexStoreError("no index found; run `assistant index` to rebuild it")
        return fake

    app = make_app(flaky)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app._load_error is not None)
        await pilot.press("r")
        await until(pilot, lambda: app._engine is not None)
        assert not app.query_one("#error").display and app.query_one("#body").display
        await ask(pilot, app, "负向一体化是指什么？")


@pytest.mark.asyncio
async def test_question_typed_while_loading_is_asked_when_ready(fake: FakeEngine) -> None:
    loaded = threading.Event()

    def slow() -> Engine:
        loaded.wait(10)
        return fake

    app = make_app(slow)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "Loading" in plain(app, "#status")
        box = app.query_one("#question", Input)
        assert box.has_focus  # the UI is usable at once
        await pilot.press(*"negative integration", "enter")
        await pilot.pause()
        assert app._pending == "negative integration" and fake.calls == []
        assert "queued" in plain(app, "#status")
        loaded.set()
        await until(pilot, lambda: app._answer is not None)
        assert fake.calls == [("negative integration", None)]
        assert app._answer is not None and app._answer.question == "negative integration"


@pytest.mark.asyncio
async def test_escape_cancels_the_running_question(base_engine: Engine) -> None:
    gate = threading.Event()
    slow = FakeEngine(base_engine, gate)
    app = make_app(lambda: slow)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app._engine is not None)
        await pilot.press(*"negative integration", "enter")
        await until(pilot, lambda: slow.calls)
        assert app._busy_since is not None and "asking" in plain(app, "#status")
        await pilot.press("escape")
        assert app._busy_since is None and "cancelled" in plain(app, "#status")
        gate.set()  # the engine finishes; its result must be discarded
        await pilot.pause(0.3)
        assert app._answer is None
        assert app.query_one("#answer", NavList).option_count == 1  # still the welcome text


@pytest.mark.asyncio
async def test_a_newer_question_supersedes_a_stale_one(base_engine: Engine) -> None:
    gate = threading.Event()
    slow = FakeEngine(base_engine, gate)
    app = make_app(lambda: slow)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app._engine is not None)
        box = app.query_one("#question", Input)
        box.value = "first question about integration"
        await pilot.press("enter")
        await until(pilot, lambda: slow.calls)
        box.value = "多哈回合谈判什么时候开始？"
        await pilot.press("enter")
        gate.set()
        await until(pilot, lambda: app._answer is not None and app._busy_since is None)
        await pilot.pause(0.3)  # the stale answer has arrived by now, and was dropped
        assert app._answer is not None and app._answer.question == "多哈回合谈判什么时候开始？"
        assert app.lang == "zh"


@pytest.mark.asyncio
async def test_language_toggle_switches_labels(fake: FakeEngine) -> None:
    app = make_app(lambda: fake)
    async with app.run_test(size=SIZE) as pilot:
        answer = await ask(pilot, app, "What does negative integration mean?")
        assert app.lang == "en" and app.query_one("#sources").border_title == "Sources"
        await pilot.press("l")
        assert app.lang == "zh"
        assert app.query_one("#sources").border_title == "检索到的段落"
        assert "上次耗时" in plain(app, "#status") and "中文" in plain(app, "#status")
        assert app._answer is answer  # the answer itself keeps the question's language
        await pilot.press("l")
        assert app.query_one("#answer").border_title == "Answer"


# Each step: ask a question (or press l), then the labels' language. Until l is pressed the
# labels follow each question's language; after it, the user's choice sticks (issue #15).
LANG_STEPS = [
    ("负向一体化是指什么？", "zh"),
    ("What does negative integration mean?", "en"),
    ("l", "zh"),
    ("What does negative integration mean?", "zh"),
    ("l", "en"),
    ("负向一体化是指什么？", "en"),
    ("多哈回合谈判什么时候开始？", "en"),
]


@pytest.mark.asyncio
async def test_a_chosen_language_sticks_across_questions(fake: FakeEngine) -> None:
    app = make_app(lambda: fake)
    async with app.run_test(size=SIZE) as pilot:
        for step, lang in LANG_STEPS:
            if step == "l":
                app.query_one("#answer").focus()
                await pilot.press("l")
            else:
                await ask(pilot, app, step)
            answer_title = {"en": "Answer", "zh": "回答"}[lang]
            assert (app.lang, app.query_one("#answer").border_title) == (lang, answer_title), step


@pytest.mark.asyncio
async def test_ctrl_l_clears_and_q_quits(fake: FakeEngine) -> None:
    app = make_app(lambda: fake)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, app, "负向一体化是指什么？")
        await pilot.press("ctrl+l")
        assert app._answer is None and app.query_one("#sources", NavList).option_count == 0
        assert app.query_one("#question", Input).has_focus
        await pilot.press("q")  # typed into the input, does not quit
        assert app.is_running
        await pilot.press("tab", "q")
        await pilot.pause()
        assert not app.is_running


# ---------------------------------------------------------------- pure rendering helpers


def test_snippet_and_tail_count_terminal_cells_not_characters() -> None:
    from rich.cells import cell_len

    from assistant.apps.tui.render import snippet, tail

    text = "负向一体化（negative integration）是指消除歧视性的贸易壁垒。"
    for cut in (snippet(text, 20), tail(text, 20)):
        assert cell_len(cut) <= 20 and "…" in cut
    assert snippet("short", 20) == "short" and tail("short", 20) == "short"


def test_find_span_tolerates_whitespace_differences() -> None:
    from assistant.apps.tui.render import find_span

    text = "第一句。负向一体化\n是指消除 壁垒。第三句。"
    s, e = find_span(text, "负向一体化是指消除壁垒。") or (0, 0)
    assert text[s:e].replace("\n", "").replace(" ", "") == "负向一体化是指消除壁垒。"
    assert find_span(text, "不存在") is None and find_span(text, "") is None


@pytest.mark.parametrize(
    ("error", "command"),
    [
        (IndexStoreError("index is out of date; run `assistant index` to rebuild it"), "assistant index"),
        (IndexStoreError("damaged"), "assistant index"),
        (ModelError("model missing"), "assistant models fetch"),
        (ValueError("odd"), None),
    ],
)
def test_fix_command(error: Exception, command: str | None) -> None:
    from assistant.apps.tui.render import fix_command

    assert fix_command(error) == command


# ---------------------------------------------------------------- snapshots

SNAP_SIZES = [(80, 24), (120, 40)]


async def _answered(pilot: Pilot) -> None:
    app = pilot.app
    assert isinstance(app, AssistantApp)
    await ask(pilot, app, "负向一体化是指什么？")
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", SNAP_SIZES)
def test_snapshot_main_screen_with_answer(snap_compare, fake: FakeEngine, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(lambda: fake), terminal_size=size, run_before=_answered)


@pytest.mark.parametrize("size", SNAP_SIZES)
def test_snapshot_help_screen(snap_compare, fake: FakeEngine, size: tuple[int, int]) -> None:
    async def help_open(pilot: Pilot) -> None:
        app = pilot.app
        await until(pilot, lambda: app._engine is not None)  # type: ignore[attr-defined]
        await pilot.press("f1")
        await pilot.pause(0.2)

    assert snap_compare(make_app(lambda: fake), terminal_size=size, run_before=help_open)


@pytest.mark.parametrize("size", SNAP_SIZES)
def test_snapshot_error_panel(snap_compare, size: tuple[int, int]) -> None:
    def broken() -> Engine:
        raise IndexStoreError("no index found in ~/papers/.index; run `assistant index` to rebuild it")

    async def failed(pilot: Pilot) -> None:
        app = pilot.app
        await until(pilot, lambda: app._load_error is not None)  # type: ignore[attr-defined]
        await pilot.pause(0.2)

    assert snap_compare(make_app(broken), terminal_size=size, run_before=failed)


# ---------------------------------------------------------------- the real engine

REF = re.compile(r"[a-z-]+-(?:\d{4}|nd):p\d+")


def _real_engine(tmp_path: Path) -> Engine:
    """The real model over the real index; rebuilt into ``tmp_path`` when missing or stale."""
    from assistant.engine import build

    try:
        return open_engine(Settings.from_env())
    except IndexStoreError:
        settings = Settings.from_env(index_dir=tmp_path / "index")
        build(settings)  # re-embeds only what the shared embedding cache lacks
        return open_engine(settings)


@pytest.mark.integration
@pytest.mark.asyncio
async def test_real_engine_answers_with_a_quoted_citation(tmp_path: Path) -> None:
    app = make_app(lambda: _real_engine(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app._engine is not None or app._load_error is not None, timeout=600)
        assert app._load_error is None, app._load_error
        answer = await ask(pilot, app, "What does negative integration mean?", timeout=120)
        assert answer.answerable and answer.citations
        first = answer.citations[0]
        assert first.paragraph.doc_id == "xu-geng-2021" and REF.fullmatch(first.paragraph.ref)
        assert first.quote in first.paragraph.text
        shown = app.query_one("#answer", NavList).get_option_at_index(0).prompt
        assert isinstance(shown, Text) and first.paragraph.ref in shown.plain and "[1]" in shown.plain
        assert highlighted_text(app) == first.quote  # the quoted sentence, highlighted in its paragraph
        assert first.paragraph.ref in str(app.query_one("#evidence-pane").border_title)


# ---------------------------------------------------------------- pages in the evidence and reader


@pytest.mark.parametrize(
    ("pages", "shown"),
    [((7, 7), "li-2023:p14 · p. 7"), ((7, 8), "li-2023:p14 · pp. 7–8"), ((None, None), "li-2023:p14")],
)
def test_evidence_and_reader_name_the_page(pages, shown) -> None:
    from assistant.apps.tui.render import evidence_text, reader_unit
    from assistant.records import Paragraph

    p = Paragraph("li-2023:p14", "li-2023", "body", 14, ("一、",), "正文。", (), *pages)
    evidence = evidence_text(p, None, (), (), (0, 3), "en").plain
    assert f"▌ {shown}\n" in evidence
    assert reader_unit(p, None, None).plain.startswith(shown + "  一、\n")


# ---------------------------------------------------------------- at 80x24 (issue #15)

SMALL = (80, 24)


def on_screen(app: AssistantApp, widget: Widget) -> str:
    """The text the terminal shows inside ``widget``'s content area, toasts and all, rows joined."""
    strips = app.screen._compositor.render_strips()
    r = widget.content_region
    return "\n".join(strips[y].crop(r.x, r.right).text for y in range(r.y, r.bottom))


def squeeze(text: str) -> str:
    return "".join(text.split())  # wrapping breaks lines (and eats spaces) anywhere


@pytest.mark.asyncio
async def test_evidence_scrolls_the_quoted_sentence_into_view_at_80x24(fake: FakeEngine) -> None:
    app = make_app(lambda: fake)
    async with app.run_test(size=SMALL) as pilot:
        answer = await ask(pilot, app, "负向一体化是指什么？")
        pane = app.query_one("#evidence-pane")
        # Every citation, then every source: title, section and the previous paragraph fill
        # the small pane, and the quote used to start below its bottom edge.
        items = [*answer.citations, *answer.passages]
        for i, item in enumerate(items):
            await pilot.pause(0.05)
            shown = squeeze(on_screen(app, pane))
            highlighted = squeeze(highlighted_text(app))
            assert highlighted and highlighted[:12] in shown, (i, item.paragraph.ref, shown)
            assert item.paragraph.ref in str(pane.border_title)
            await pilot.press("j")


# Drawn evidence lines ("Q" marks a highlighted cell) -> heading row, first and last quote row.
FOCUS_ROWS = [
    (["title", "§ 一", "", "▌ a:p2", "QQ", "QQ rest", "rest"], (3, 4, 5)),
    (
        ["title", "a:p1 (before)", "…QQ", "▌ a:p2", "text", "Q", "", "a:p3 (after)"],
        (3, 5, 5),
    ),  # not before it
    (["title", "▌ a:p2", "text, no highlight"], (1, 2, 2)),
    (["Select a citation"], None),
]


@pytest.mark.parametrize(("lines", "rows"), FOCUS_ROWS)
def test_focus_rows_reads_the_drawn_lines(lines: list[str], rows: tuple[int, int, int] | None) -> None:
    from rich.segment import Segment
    from rich.style import Style
    from textual.strip import Strip

    from assistant.apps.tui.evidence import focus_rows

    def strip(line: str) -> Strip:
        return Strip([Segment(ch, Style.parse(MARK) if ch == "Q" else None) for ch in line])

    assert focus_rows([strip(line) for line in lines]) == rows


@pytest.mark.parametrize(
    ("heading", "start", "end", "height", "top"),
    [
        (8, 9, 10, 12, 0),  # all of it fits from the top: title and section stay in view
        (8, 9, 10, 6, 8),  # from the paragraph's heading line
        (8, 12, 13, 6, 8),  # a quote later in the paragraph, still in view from the heading
        (8, 14, 30, 6, 13),  # a quote longer than the pane: its start, one line of lead-in
    ],
)
def test_scroll_top(heading: int, start: int, end: int, height: int, top: int) -> None:
    from assistant.apps.tui.evidence import scroll_top

    assert scroll_top(heading, start, end, height) == top


# (value already in the input, key pressed): does the help open? (issue #15)
HELP_KEYS = [
    ("", "question_mark", True),
    ("", "？", True),  # from a Chinese input method
    ("", "f1", True),
    ("what", "f1", True),
    ("what", "question_mark", False),  # typed: a question ends with one
]


@pytest.mark.parametrize(("value", "key", "opens"), HELP_KEYS)
@pytest.mark.asyncio
async def test_question_mark_opens_help_from_an_empty_input(
    fake: FakeEngine, value: str, key: str, opens: bool
) -> None:
    app = make_app(lambda: fake)
    async with app.run_test(size=SMALL) as pilot:
        await ask(pilot, app, "负向一体化是指什么？")
        await pilot.press("escape")  # idle: Esc returns the focus to the input
        box = app.query_one("#question", Input)
        assert box.has_focus
        await pilot.press(*value)
        if key == "？":  # the pilot cannot press it (no character): send what a terminal sends
            app.post_message(events.Key("fullwidth_question_mark", "？"))
        else:
            await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen) is opens
        if opens:
            assert box.value == value
            await pilot.press("escape")
            assert not isinstance(app.screen, HelpScreen) and box.has_focus
        else:
            assert box.value == value + "?"


def test_help_says_when_question_mark_opens_it() -> None:
    from assistant.apps.tui.i18n import KEYS

    (en, zh) = next((en, zh) for keys, en, zh in KEYS if keys == "? / F1")
    assert "empty" in en and "为空" in zh


@pytest.fixture
def long_model(base_engine: Engine) -> FakeEngine:
    """The fake engine, reporting the real model's name (as long as the status line gets)."""
    manifest = replace(base_engine.index.manifest, model_name="google/embeddinggemma-300m")
    index = replace(base_engine.index, manifest=manifest)
    return FakeEngine(Engine(base_engine.settings, base_engine.embedder, index))


@pytest.mark.parametrize("question", ["What does negative integration mean?", "负向一体化是指什么？"])
@pytest.mark.asyncio
async def test_status_line_fits_at_80_columns(long_model: FakeEngine, question: str) -> None:
    app = make_app(lambda: long_model)
    async with app.run_test(size=SMALL) as pilot:
        await ask(pilot, app, question)
        shown = on_screen(app, app.query_one("#status")).rstrip()
        assert shown.endswith(("EN", "中文")) and re.search(r"\b32 ms\b", shown), shown


@pytest.mark.asyncio
async def test_toasts_leave_the_evidence_and_status_line_readable_at_80x24(fake: FakeEngine) -> None:
    app = make_app(lambda: fake)
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        await ask(pilot, app, "负向一体化是指什么？")
        pane, status = app.query_one("#evidence-pane"), app.query_one("#status")
        before = on_screen(app, pane), on_screen(app, status)
        await pilot.press("y", "l", "l")  # three toasts in a row; the labels back as they were
        await pilot.pause(0.2)
        toasts = list(app.screen.query(Toast))
        assert len(toasts) == 1, "one toast at a time"
        assert not toasts[0].region.overlaps(pane.region) and not toasts[0].region.overlaps(status.region)
        assert (on_screen(app, pane), on_screen(app, status)) == before  # nothing covered


STATUS_WIDTH = 78  # 80 columns, less the status line's padding


@pytest.mark.parametrize(
    ("state", "must_show"),
    [
        ({"lang": "en", "last_ms": 59134.0}, ["● ready", "last 59134 ms", "EN"]),
        ({"lang": "zh", "last_ms": 59134.0}, ["● 就绪", "上次耗时 59134 ms", "中文"]),
        ({"lang": "en", "busy_s": 12.3, "spinner": "⠋"}, ["⠋ asking", "12.3 s", "EN"]),
        ({"lang": "en", "last_ms": 812.0, "n_searched": 1}, ["filter 1/3 docs", "last 812 ms", "EN"]),
        ({"lang": "zh", "last_ms": 812.0, "n_searched": 1}, ["筛选 1/3 篇", "上次耗时 812 ms", "中文"]),
        ({"lang": "en", "notice": "question cancelled"}, ["● ready", "question cancelled", "EN"]),
    ],
)
def test_status_line_fits_80_columns_keeping_what_matters(state: dict, must_show: list[str]) -> None:
    from rich.cells import cell_len

    from assistant.apps.tui.status import StatusState, status_line

    model = {"model": "google/embeddinggemma-300m", "n_docs": 3, "n_paragraphs": 126, "n_searched": 3}
    s = StatusState(**{**model, **state})
    line = status_line(s, STATUS_WIDTH).plain
    assert cell_len(line) <= STATUS_WIDTH and all(part in line for part in must_show), line
    wide = status_line(s, 200).plain
    assert "embeddinggemma-300m" in wide and all(part in wide for part in must_show)


# What y copies: the quote, then authors (year), title, journal, § section, pages and ref.
META = DocumentMeta(
    "xu-geng-2021", "边境后措施国际监管合作发展趋向与问题阐释", "", "边境后措施国际监管合作",
    ("徐泉", "耿旭洋"), journal="上海对外经贸大学学报", year=2021,
)  # fmt: skip
SECTION = ("一、具体形式", "1. 相互认可")
QUOTE = "“在相互认可制度下，产品可以自由流通。” — "
TITLE = "《边境后措施国际监管合作发展趋向与问题阐释》"
CITATIONS = [
    (META, (5, 5), f"徐泉, 耿旭洋 (2021), {TITLE}, 上海对外经贸大学学报, § 一、具体形式 › 1. 相互认可, p. 5"),
    (
        replace(META, journal=""),
        (5, 6),
        f"徐泉, 耿旭洋 (2021), {TITLE}, § 一、具体形式 › 1. 相互认可, pp. 5–6",
    ),
    (
        DocumentMeta("xu-geng-2021", "Non-tariff barriers, revisited", authors=("Yang Liu",)),
        (None, None),
        "Yang Liu (n.d.), Non-tariff barriers, revisited, § 一、具体形式 › 1. 相互认可",
    ),
    (
        DocumentMeta("xu-geng-2021", "国际规则博弈", year=2023),
        (3, 3),
        "《国际规则博弈》 (2023), § 一、具体形式 › 1. 相互认可, p. 3",
    ),
    (None, (None, None), "xu-geng-2021 (n.d.), § 一、具体形式 › 1. 相互认可"),
]


@pytest.mark.parametrize(("meta", "pages", "expected"), CITATIONS)
def test_citation_text(
    meta: DocumentMeta | None, pages: tuple[int | None, int | None], expected: str
) -> None:
    from assistant.apps.tui.cite import citation_text
    from assistant.records import Citation

    p = Paragraph(
        "xu-geng-2021:p5",
        "xu-geng-2021",
        "body",
        5,
        SECTION,
        "在相互认可制度下，产品可以自由流通。",
        (),
        *pages,
    )
    assert (
        citation_text(Citation(1, p, META.title, p.text, 0.5), meta) == f"{QUOTE}{expected}, xu-geng-2021:p5"
    )


def test_copied_quote_is_one_line() -> None:
    from assistant.apps.tui.cite import citation_text
    from assistant.records import Citation

    p = Paragraph("a-2020:p1", "a-2020", "body", 1, (), "Negative\nintegration  removes barriers.")
    assert citation_text(Citation(1, p, "", p.text, 0.5), None) == (
        "“Negative integration removes barriers.” — a-2020 (n.d.), a-2020:p1"
    )


@pytest.mark.asyncio
async def test_copy_pastes_as_a_full_citation(fake: FakeEngine) -> None:
    app = make_app(lambda: fake)
    async with app.run_test(size=SMALL) as pilot:
        answer = await ask(pilot, app, "负向一体化是指什么？")
        await pilot.press("y")
        first = answer.citations[0]
        section = " › ".join(first.paragraph.section)
        meta = fake.documents[first.paragraph.doc_id]
        authors = ", ".join(meta.authors)
        assert app.clipboard == (
            f"“{first.quote}” — {authors} ({meta.year}), 《{meta.title}》, § {section}, {first.paragraph.ref}"
        )
