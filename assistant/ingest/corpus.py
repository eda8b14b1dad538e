"""Load the corpus (``<name>.<pdf|docx|md|html|txt>`` + ``<name>.toml``) into cleaned documents.

Loading validates the files and their metadata sidecars with one-line, fix-naming errors; the
cleaning itself (PDF-noise repair, layout analysis, paragraph segmentation) is
:func:`assistant.ingest.segment.clean_document`, re-exported here for callers that load and clean.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import sys
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path

from assistant.errors import CorpusError
from assistant.ingest.formats import SUFFIXES, read_source
from assistant.ingest.segment import clean_document
from assistant.ingest.source import SourceText, check_regular_file, read_error, read_text_file
from assistant.records import Document, DocumentMeta, Paragraph

__all__ = ["CorpusError", "clean_document", "find_paragraph", "load_corpus", "neighbours", "read_meta"]


# --- loading -------------------------------------------------------------------------------------

_SLUG = re.compile(r"^[a-z0-9][a-z0-9\-]*$")
_META_STR = ("title", "title_en", "short_title", "affiliation", "journal", "issue", "doi", "source", "added")
_KNOWN_KEYS = ("doc_id", *_META_STR, "authors", "year", "pages", "drop_lines", "sha256")
"""Every key a sidecar may hold (``sha256`` is written by ``assistant add`` and read by it)."""
_noted: set[str] = set()


def note(message: str) -> None:
    """Tell the user about something that works but is probably a mistake, once per process.

    One ``assistant: note:`` line on stderr, the form the command line gives its other notes;
    only the commands (index, add, docs, remove) load a library, never the TUI, whose screen a
    stray line would break. Once: ``assistant docs`` reads each sidecar twice.
    """
    if message not in _noted:
        _noted.add(message)
        print(f"assistant: note: {message}", file=sys.stderr)


def _typo_of(key: str, keys: Iterable[str]) -> str:
    """The key among ``keys`` that ``key`` is probably a misspelling of, or ""."""
    return next(iter(difflib.get_close_matches(key, list(keys), n=1, cutoff=0.75)), "")


def _check_keys(path: Path, data: dict[str, object]) -> None:
    """A note naming keys no sidecar takes (a typo such as ``titel`` would be silently ignored)."""
    unknown = sorted(k for k in data if k not in _KNOWN_KEYS)
    if not unknown:
        return
    named, guessed = [], 0
    for key in unknown:
        meant = _typo_of(key, _KNOWN_KEYS)
        guessed += bool(meant)
        named.append(f"{key!r} (did you mean {meant!r}?)" if meant else repr(key))
    # the full list only when some key has no likely spelling to offer
    known = "" if guessed == len(unknown) else f"; a sidecar takes {', '.join(_KNOWN_KEYS)}"
    note(f"{path}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(named)} ignored{known}")


def read_meta(path: Path) -> tuple[DocumentMeta, tuple[str, ...]]:
    """Read one metadata sidecar: the :class:`DocumentMeta` and its ``drop_lines`` cleaning hints."""
    check_regular_file(path)  # a FIFO named like a sidecar would block the read forever
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise read_error(path, exc) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        msg = str(exc).splitlines()[0]
        raise CorpusError(f"{path}: invalid TOML ({msg}); fix the syntax of the sidecar") from None
    _check_keys(path, data)
    doc_id = data.get("doc_id")
    if not isinstance(doc_id, str) or not _SLUG.match(doc_id):
        raise CorpusError(f"{path}: 'doc_id' must be a lower-case slug such as 'xu-geng-2021'; fix it")
    for key in _META_STR:  # before "missing": `title = 5` is there, just not text
        if key in data and not isinstance(data[key], str):
            raise CorpusError(f"{path}: '{key}' must be a string in quotes, such as {key} = \"...\"")
    if not data.get("title", "").strip():
        typo = next((k for k in data if _typo_of("title", [k]) and k not in _KNOWN_KEYS), "")
        hint = f" (is {typo!r} a misspelling of it?)" if typo else ""
        raise CorpusError(f"{path}: 'title' is missing{hint}; add the paper's title to the sidecar")
    authors = data.get("authors", [])
    if not isinstance(authors, list) or not all(isinstance(a, str) for a in authors):
        raise CorpusError(f"{path}: 'authors' must be a list of strings")
    year = data.get("year")
    if year is not None and (not isinstance(year, int) or isinstance(year, bool)):
        raise CorpusError(f"{path}: 'year' must be an integer such as 2021, or left out")
    pages = data.get("pages", 0)
    if not isinstance(pages, int) or isinstance(pages, bool) or pages < 0:
        raise CorpusError(f"{path}: 'pages' must be a whole number, or left out")
    drop = data.get("drop_lines", [])
    if not isinstance(drop, list) or not all(isinstance(d, str) for d in drop):
        raise CorpusError(f"{path}: 'drop_lines' must be a list of regular expressions")
    for pattern in drop:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise CorpusError(f"{path}: drop_lines pattern {pattern!r} is not a valid regex: {exc}") from None
    meta = DocumentMeta(
        doc_id=doc_id,
        title=data["title"].strip(),
        title_en=data.get("title_en", ""),
        short_title=data.get("short_title", ""),
        authors=tuple(authors),
        affiliation=data.get("affiliation", ""),
        journal=data.get("journal", ""),
        year=year,
        issue=data.get("issue", ""),
        doi=data.get("doi", ""),
        source=data.get("source", ""),
        pages=pages,
        added=data.get("added", ""),
    )
    return meta, tuple(drop)


def _check_inside(path: Path, root: Path) -> None:
    if path.is_symlink():
        target = path.resolve()
        if not target.is_relative_to(root):
            raise CorpusError(f"{path}: symlink points outside the corpus folder ({target}); copy it in")
        if not target.exists():
            raise CorpusError(f"{path}: broken symlink; replace it with the file itself")


ADD_HINT = "add papers with `assistant add FILE...` or set ASSISTANT_CORPUS"


def require_corpus_dir(corpus_dir: Path) -> None:
    """CorpusError naming the folder when the corpus folder does not exist."""
    if not corpus_dir.is_dir():
        raise CorpusError(f"{corpus_dir}: library folder not found; {ADD_HINT}")


def source_files(corpus_dir: Path) -> list[Path]:
    """The documents' source files in a library folder (hidden files and sidecars left out), by name.

    Every file the library reads (sources, ``*.toml`` sidecars, ``glossary.tsv``) is checked first
    without being opened (:func:`~assistant.ingest.source.check_regular_file`): a name that is not
    UTF-8, a folder, FIFO or device named like a document, a symlink loop or an unreadable file
    is a :class:`CorpusError` naming it. So is a name two sources share (``a.pdf`` and ``a.txt``):
    one sidecar cannot describe both.
    """
    try:
        names = sorted(corpus_dir.iterdir())
    except OSError as exc:
        raise CorpusError(
            f"{corpus_dir}: cannot list the library folder ({exc.strerror}); make it readable"
        ) from None
    used = [
        p
        for p in names
        if not p.name.startswith(".")
        and (p.suffix.lower() in (*SUFFIXES, ".toml") or p.name == "glossary.tsv")
    ]
    for path in used:
        check_regular_file(path)
    found = [p for p in used if p.suffix.lower() in SUFFIXES]
    stems: dict[str, Path] = {}
    for path in found:
        if path.stem in stems:
            raise CorpusError(
                f"{path}: {stems[path.stem].name} has the same name; keep one of the two (one sidecar each)"
            )
        stems[path.stem] = path
    return found


def read_document_source(path: Path) -> tuple[str | SourceText, str]:
    """A source file's text (plain for ``.txt``, hinted lines for other formats) and its SHA-256."""
    if path.suffix.lower() == ".txt":
        return read_text_file(path)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise read_error(path, exc) from None
    return read_source(path), digest


def load_document(source: Path, side: Path, read: tuple[str | SourceText, str] | None = None) -> Document:
    """Read and clean one source file with its sidecar (CorpusError, one line, when either is bad).

    ``read`` is what :func:`read_document_source` already gave for ``source`` (not read again).
    """
    meta, drop = read_meta(side)
    raw, digest = read or read_document_source(source)
    paragraphs = clean_document(raw, meta, drop)
    if not any(p.kind == "body" for p in paragraphs):
        raise CorpusError(f"{source}: no body text found after cleaning; is this the right file?")
    return Document(meta, digest, paragraphs)


def load_corpus(
    corpus_dir: Path,
    on_file: Callable[[Path], None] | None = None,
    load: Callable[..., Document] = load_document,
) -> tuple[Document, ...]:
    """Load and clean every ``<name>.<ext>`` + ``<name>.toml`` pair in ``corpus_dir``, sorted by doc_id.

    ``on_file`` is told each source before it is read (for progress); ``load`` reads one (a
    cache may stand in for :func:`load_document`). Raises :class:`CorpusError`
    with a one-line message for a missing or empty folder, an unreadable source, a missing or
    invalid sidecar, a duplicate doc_id or a symlink that leaves the folder.
    """
    corpus_dir = Path(corpus_dir)
    require_corpus_dir(corpus_dir)
    root = corpus_dir.resolve()
    sources = source_files(corpus_dir)
    if not sources:
        raise CorpusError(f"{corpus_dir}: the library has no documents; {ADD_HINT}")
    stems = {p.stem for p in sources}
    for toml_path in sorted(corpus_dir.glob("*.toml")):
        if toml_path.stem not in stems:
            raise CorpusError(
                f"{toml_path}: sidecar without a document; add {toml_path.stem}.pdf (or .txt) or remove it"
            )
    docs: dict[str, Document] = {}
    for source in sources:
        _check_inside(source, root)
        side = source.with_suffix(".toml")
        if not side.exists():
            raise CorpusError(
                f"{source}: metadata sidecar {side.name} is missing; create it (doc_id, title...)"
            )
        _check_inside(side, root)
        if on_file:
            on_file(source)
        doc = load(source, side)
        if doc.doc_id in docs:
            raise CorpusError(
                f"{side}: duplicate doc_id {doc.doc_id!r} (another sidecar uses it); rename one"
            )
        docs[doc.doc_id] = doc
    return tuple(docs[k] for k in sorted(docs))


def find_paragraph(docs: Iterable[Document], ref: str) -> Paragraph | None:
    """The unit with reference ``ref`` (e.g. ``xu-geng-2021:p3``), or None."""
    doc_id = ref.split(":", 1)[0]
    for doc in docs:
        if doc.doc_id == doc_id:
            return next((p for p in doc.paragraphs if p.ref == ref), None)
    return None


def neighbours(doc: Document, ref: str, k: int = 1) -> tuple[Paragraph, ...]:
    """Up to ``k`` body paragraphs on each side of body paragraph ``ref``, itself included, in order."""
    body = [p for p in doc.paragraphs if p.kind == "body"]
    idx = next((i for i, p in enumerate(body) if p.ref == ref), None)
    if idx is None:
        return ()
    return tuple(body[max(0, idx - k) : idx + k + 1])
