"""UI labels for the terminal UI in Chinese and English (imported only by the TUI modules).

The answer text itself comes from the engine in the question's language; these are
only the labels around it, so the chrome can follow the language the user asks in
(until the user picks one with ``l``, which then holds).
"""

from __future__ import annotations

from assistant.records import Lang

LABELS: dict[str, dict[Lang, str]] = {
    "placeholder": {
        "en": "Ask in English or Chinese — Enter asks, ↑/↓ history",
        "zh": "用中文或英文提问 — Enter 提问，↑/↓ 历史",
    },
    "question": {"en": "Question", "zh": "问题"},
    "answer": {"en": "Answer", "zh": "回答"},
    "sources": {"en": "Sources", "zh": "检索到的段落"},
    "evidence": {"en": "Evidence", "zh": "原文证据"},
    "loading": {"en": "Loading the model and index…", "zh": "正在加载模型和索引…"},
    "loading_hint": {
        "en": "You can type your question now: it is asked as soon as loading finishes.",
        "zh": "现在就可以输入问题：加载完成后会自动提问。",
    },
    "ready": {"en": "ready", "zh": "就绪"},
    "welcome": {
        "en": (
            "Ask a question about the papers in Chinese or English.\n"
            "Every sentence of an answer is quoted from a paper and cited by paragraph ref; "
            "press ? for keys."
        ),
        "zh": "用中文或英文提问。\n回答中的每一句都直接引自论文原文，并标明段落编号；按 ? 查看快捷键。",
    },
    "asking": {"en": "asking", "zh": "正在检索"},
    "queued": {"en": "queued until loading finishes", "zh": "已排队，加载完成后提问"},
    "cancelled": {"en": "question cancelled", "zh": "已取消提问"},
    "superseded": {"en": "superseded by a newer question", "zh": "已被新问题取代"},
    "not_found": {"en": "Not in the corpus", "zh": "语料库中未找到"},
    "no_citations": {
        "en": "No quotation: judge the closest passages in Sources yourself.",
        "zh": "没有引文：请在“检索到的段落”中自行判断最接近的段落。",
    },
    "cited_as": {"en": "cited", "zh": "已引用"},
    "corpus": {"en": "{d} docs, {p} paragraphs", "zh": "{d} 篇文献，{p} 个段落"},
    "last": {"en": "last", "zh": "上次耗时"},
    "filter_all": {"en": "all docs", "zh": "全部文献"},
    "filter_some": {"en": "filter {n}/{total} docs", "zh": "筛选 {n}/{total} 篇"},
    "score": {"en": "score", "zh": "得分"},
    "before": {"en": "before", "zh": "上一段"},
    "after": {"en": "after", "zh": "下一段"},
    "linked": {"en": "linked", "zh": "关联"},
    "evidence_empty": {
        "en": "Select a citation or a source to read the paragraph it comes from.",
        "zh": "选择一条引用或检索结果，在此阅读其所在段落。",
    },
    "error_title": {"en": "The assistant cannot start", "zh": "助手无法启动"},
    "fix": {"en": "To fix it, run in a shell:", "zh": "修复方法：在终端中运行"},
    "retry": {"en": "then press r here to retry, or q to quit.", "zh": "然后在此按 r 重试，或按 q 退出。"},
    "unexpected": {
        "en": "Unexpected error; please report it with the message above.",
        "zh": "意外错误；请附上以上信息报告问题。",
    },
    "help_title": {"en": "Keys", "zh": "快捷键"},
    "help_close": {"en": "Esc, q or ? closes this help", "zh": "按 Esc、q 或 ? 关闭帮助"},
    "filter_title": {"en": "Search these documents", "zh": "检索以下文献"},
    "filter_hint": {
        "en": "Space toggles · a all · n none · Enter apply · Esc cancel",
        "zh": "空格 选择 · a 全选 · n 全不选 · Enter 应用 · Esc 取消",
    },
    "filter_applied": {"en": "Searching {n} of {total} documents", "zh": "检索 {total} 篇中的 {n} 篇"},
    "filter_none": {
        "en": "No document selected: searching all documents",
        "zh": "未选择文献：检索全部文献",
    },
    "reader_hint": {
        "en": "j/k scroll · n/p next/previous cited · g/G top/bottom · Esc/q close",
        "zh": "j/k 滚动 · n/p 跳到引文 · g/G 顶部/底部 · Esc/q 关闭",
    },
    "copied": {"en": "Copied {ref} to the clipboard", "zh": "已复制 {ref} 到剪贴板"},
    "nothing_selected": {"en": "Select a citation or source first", "zh": "请先选择一条引用或检索结果"},
    "still_loading": {"en": "Still loading the index…", "zh": "索引仍在加载…"},
    "lang_switched": {"en": "Labels in English", "zh": "界面语言：中文"},
}

# (keys, English description, Chinese description), in the order the help screen lists them.
KEYS: list[tuple[str, str, str]] = [
    ("Enter", "ask the question in the input", "提问"),
    ("↑ / ↓  (in the input)", "previous / next question from history", "上一个 / 下一个历史问题"),
    ("Tab / Shift+Tab", "move focus: input, answer, sources, evidence", "切换焦点：输入、回答、段落、证据"),
    ("↑ ↓ / j k", "move between citations and sources", "在引用与检索结果之间移动"),
    ("/ or i", "back to the question input", "回到问题输入框"),
    ("o / Enter", "open the paragraph in the full-document reader", "在全文阅读器中打开该段落"),
    ("  n / p  (reader)", "next / previous cited paragraph", "下一个 / 上一个被引用段落"),
    ("  j k g G  (reader)", "scroll, top, bottom; Esc or q closes", "滚动、顶部、底部；Esc 或 q 关闭"),
    ("y", "copy the quote with its full citation", "复制引文及完整出处（作者、年份、页码等）"),
    ("f", "choose which documents are searched", "选择检索哪些文献"),
    ("  Space a n  (filter)", "toggle, all, none; Enter applies", "选择、全选、全不选；Enter 应用"),
    ("l", "switch labels between English and Chinese", "切换界面语言（中文 / 英文）"),
    ("Esc", "cancel the question; else back to the input", "取消提问；未在提问时回到输入框"),
    ("Ctrl+L", "clear the question, answer and evidence", "清空问题、回答和证据"),
    ("r", "retry loading after an error", "出错后重新加载"),
    ("? / F1", "this help; ? also when the input is empty", "显示本帮助；输入框为空时也可按 ?"),
    ("q / Ctrl+C", "quit (q only outside the input)", "退出（q 仅在输入框外有效）"),
]

HINTS: dict[str, dict[Lang, str]] = {
    "input": {
        "en": "Enter ask · ↑↓ history · Tab panes · Esc cancel · ?/F1 help · Ctrl+C quit",
        "zh": "Enter 提问 · ↑↓ 历史 · Tab 切换 · Esc 取消 · ?/F1 帮助 · Ctrl+C 退出",
    },
    "panes": {
        "en": "j/k move · o open · y copy · f filter · l 中文 · / ask · ? help · q quit",
        "zh": "j/k 移动 · o 全文 · y 复制 · f 筛选 · l English · / 提问 · ? 帮助 · q 退出",
    },
    "error": {"en": "r retry · ? help · q quit", "zh": "r 重试 · ? 帮助 · q 退出"},
}


def t(key: str, lang: Lang, **fmt: object) -> str:
    """The label ``key`` in ``lang``, formatted with ``fmt``."""
    text = LABELS[key][lang]
    return text.format(**fmt) if fmt else text
