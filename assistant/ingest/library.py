"""The library folder as a user changes it: stage files to add, place them, take them back out.

A library is a folder of ``<doc_id>.<ext>`` source files, each with its ``<doc_id>.toml`` sidecar.
Adding happens in three steps so a failure never leaves half a document behind:

1. :func:`stage` copies every file into a hidden staging folder inside the library, reads and
   cleans the copy (so a file that changes or vanishes meanwhile cannot disagree with what is
   placed), guesses its metadata and writes its sidecar there. Any bad file stops the add here,
   before the library is touched.
2. :meth:`Change.place` renames the staged files into the library, moving any document they
   replace into a hidden trash folder.
3. The caller rebuilds the index, then :meth:`Change.commit` (delete the trash) or
   :meth:`Change.rollback` (put everything back exactly as it was).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from assistant.errors import CorpusError, DocumentError
from assistant.ingest.corpus import load_document, read_document_source, read_meta, source_files
from assistant.ingest.formats import SUFFIXES, unsupported
from assistant.ingest.metadata import guess_meta, make_doc_id
from assistant.ingest.source import SourceText, check_name, check_regular_file, read_error
from assistant.records import Document

Action = Literal["new", "replace", "unchanged"]
_SIDE_ORDER = ("doc_id", "title", "title_en", "short_title", "authors", "affiliation", "journal", "year")
_SIDE_ORDER += ("issue", "doi", "source", "sha256", "pages", "added")


@dataclass(frozen=True)
class Entry:
    """One document already in the library."""

    doc_id: str
    path: Path
    sidecar: Path
    sha256: str
    source: str
    """The name of the file it was added from (its own name for documents placed by hand)."""
    title: str
    authors: tuple[str, ...]


@dataclass(frozen=True)
class Staged:
    """What adding one file will do, with the staged copy ready to be placed."""

    origin: Path
    action: Action
    doc_id: str
    staged: Path | None = None
    sidecar: Path | None = None
    replaces: Entry | None = None
    document: Document | None = field(default=None, compare=False)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def entries(root: Path) -> list[Entry]:
    """The documents in ``root`` with their sidecars (a broken sidecar is an error naming it)."""
    if not root.is_dir():
        return []
    out = []
    for path in source_files(root):
        side = path.with_suffix(".toml")
        if not side.exists():
            raise CorpusError(
                f"{path}: metadata sidecar {side.name} is missing; create it or remove the file"
            )
        meta, _ = read_meta(side)
        data = tomllib.loads(side.read_text(encoding="utf-8"))
        try:
            digest = data.get("sha256") if isinstance(data.get("sha256"), str) else _sha256(path)
        except OSError as exc:
            raise read_error(path, exc) from None
        out.append(Entry(meta.doc_id, path, side, digest, meta.source or path.name, meta.title, meta.authors))
    return out


def collect(paths: Iterable[Path]) -> list[Path]:
    """The files named, and the supported files inside named folders (recursively), in order.

    Raises :class:`DocumentError` for a path that does not exist, a named file of an unsupported
    type, a FIFO, socket or device (never opened: reading a FIFO waits forever), a file name that
    is not UTF-8 (see :func:`~assistant.ingest.source.check_name`) and a folder with nothing to add.
    """
    out: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in SUFFIXES
                and not any(s.startswith(".") for s in p.parts)
            )
            if not found:
                kinds = ", ".join(s.lstrip(".") for s in SUFFIXES)
                raise DocumentError(f"{path}: no documents in this folder (looked for {kinds})")
            out.extend(found)
        elif path.is_file():
            if path.suffix.lower() not in SUFFIXES:
                raise unsupported(path)
            out.append(path)
        else:
            if path.exists() or path.is_symlink():
                _check_input(path)  # names a FIFO, socket, device, symlink loop or broken link
            raise DocumentError(f"{path}: no such file or folder; check the path")
    for path in out:
        _check_input(path, regular=False)
    seen: set[Path] = set()
    return [p for p in out if not (p.resolve() in seen or seen.add(p.resolve()))]  # type: ignore[func-returns-value]


def _check_input(path: Path, regular: bool = True) -> None:
    """The library's check of a file (name, and kind when ``regular``) as the add's input error."""
    try:
        check_name(path)
        if regular:
            check_regular_file(path)
    except CorpusError as exc:
        raise DocumentError(str(exc)) from None


def _toml_value(value: object) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string


def sidecar_text(fields: dict[str, object]) -> str:
    """A sidecar (TOML) for ``fields``, known keys first, with a note that edits win."""
    keys = [k for k in _SIDE_ORDER if k in fields] + sorted(k for k in fields if k not in _SIDE_ORDER)
    lines = [
        "# Written by `assistant add` from what the file states. Edit freely: your values are kept",
        "# when the file is added again, and guesses never overwrite them.",
    ]
    lines += [f"{k} = {_toml_value(fields[k])}" for k in keys if fields[k] not in ("", None, [], ())]
    return "\n".join(lines) + "\n"


def _as_origin(exc: CorpusError, staged: Path, origin: Path) -> CorpusError:
    """The same error naming the user's file instead of its staged copy."""
    return type(exc)(str(exc).replace(str(staged), str(origin)))


def _same_paper(guess: dict[str, object], entry: Entry) -> bool:
    authors = [str(a) for a in guess.get("authors", []) or []]  # type: ignore[union-attr]
    return (
        "".join(str(guess.get("title", "")).split()).lower() == "".join(entry.title.split()).lower()
        and bool(authors)
        and authors[:1] == list(entry.authors[:1])
    )


def stage(
    root: Path,
    paths: Sequence[Path],
    staging: Path,
    on_file: Callable[[Path, int, int], None] | None = None,
    on_staged: Callable[[Staged], None] | None = None,
    load: Callable[..., Document] = load_document,
) -> list[Staged]:
    """Copy, read and check every file to add into ``staging``; nothing in ``root`` changes.

    ``on_file(path, k, n)`` is told before each file is read, ``on_staged`` each outcome. Raises
    :class:`CorpusError` (one line naming the file and the fix) for the first file that cannot be
    added.
    """
    files = collect(paths)
    current = entries(root)
    by_hash = {e.sha256: e for e in current}
    by_source = {e.source: e for e in current}
    taken = {e.doc_id for e in current}
    out: list[Staged] = []
    staged_hashes: dict[str, Path] = {}
    for k, origin in enumerate(files):
        if on_file:
            on_file(origin, k, len(files))
        suffix = origin.suffix.lower()
        tmp = staging / f"{k:05d}{suffix}"
        try:
            shutil.copyfile(origin, tmp)
        except OSError as exc:
            raise DocumentError(
                f"{origin}: cannot read the file ({exc.strerror}); check that it still exists"
            ) from None
        digest = _sha256(tmp)
        known = by_hash.get(digest)
        if known and known.source == origin.name:
            out.append(Staged(origin, "unchanged", known.doc_id))
            if on_staged:
                on_staged(out[-1])
            continue
        if known:
            raise DocumentError(
                f"{origin}: the same file is already in the library as {known.doc_id} (added from "
                f"{known.source}); nothing was added"
            )
        if digest in staged_hashes:
            raise DocumentError(f"{origin}: the same file as {staged_hashes[digest]}; add only one of them")
        staged_hashes[digest] = origin
        replaces = by_source.get(origin.name)
        try:
            read = read_document_source(tmp)
            raw = read[0]
        except CorpusError as exc:
            raise _as_origin(exc, tmp, origin) from None
        source = raw if isinstance(raw, SourceText) else SourceText((), 0, {"first_page": raw[:4000]})
        guess = guess_meta(source, origin)
        twin = next((e for e in current if e is not replaces and _same_paper(guess, e)), None)
        if twin:
            raise DocumentError(
                f"{origin}: looks like {twin.doc_id} already in the library (same title and first author); "
                f"`assistant remove {twin.doc_id}` first to replace it"
            )
        if replaces:
            kept = tomllib.loads(replaces.sidecar.read_text(encoding="utf-8"))
            fields = guess | kept  # the user's sidecar wins over any guess
            doc_id = replaces.doc_id
        else:
            doc_id = make_doc_id(guess, origin, taken)
            fields = dict(guess)
        taken.add(doc_id)
        fields |= {
            "doc_id": doc_id,
            "source": origin.name,
            "sha256": digest,
            "added": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if source.pages:
            fields["pages"] = source.pages
        side = staging / f"{k:05d}.toml"
        side.write_text(sidecar_text(fields), encoding="utf-8")
        final = staging / f"{doc_id}{suffix}"
        final_side = staging / f"{doc_id}.toml"
        os.replace(tmp, final)
        os.replace(side, final_side)
        try:
            document = load(final, final_side, read)
        except CorpusError as exc:
            raise _as_origin(exc, final, origin) from None
        out.append(
            Staged(origin, "replace" if replaces else "new", doc_id, final, final_side, replaces, document)
        )
        if on_staged:
            on_staged(out[-1])
    return out


class Change:
    """A set of files placed into a library that can be committed or rolled back exactly."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.staging = root / f".staging-{os.getpid()}"
        self.trash = root / f".trash-{os.getpid()}"
        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging.mkdir()
        self._placed: list[Path] = []
        self._moved: list[tuple[Path, Path]] = []  # (trash copy, original place)

    def _discard(self, path: Path) -> None:
        self.trash.mkdir(exist_ok=True)
        keep = self.trash / path.name
        os.replace(path, keep)
        self._moved.append((keep, path))

    def place(self, staged: Sequence[Staged]) -> None:
        """Move the staged documents into the library (what they replace goes to the trash)."""
        for item in staged:
            if item.action == "unchanged" or item.staged is None or item.sidecar is None:
                continue
            if item.replaces:
                self._discard(item.replaces.path)
                self._discard(item.replaces.sidecar)
            for path in (item.staged, item.sidecar):
                target = self.root / path.name
                if target.exists():
                    self._discard(target)
                os.replace(path, target)
                self._placed.append(target)

    def remove(self, entry: Entry) -> None:
        """Take one document (source and sidecar) out of the library, into the trash."""
        self._discard(entry.path)
        self._discard(entry.sidecar)

    def rollback(self) -> None:
        """Put the library back exactly as it was before :meth:`place` / :meth:`remove`."""
        for path in reversed(self._placed):
            path.unlink(missing_ok=True)
        for keep, original in reversed(self._moved):
            os.replace(keep, original)
        self._placed, self._moved = [], []
        self.close()

    def commit(self) -> None:
        """Keep the change: delete what it replaced."""
        self._placed, self._moved = [], []
        shutil.rmtree(self.trash, ignore_errors=True)
        self.close()

    def close(self) -> None:
        """Remove the staging folder (and an empty trash)."""
        shutil.rmtree(self.staging, ignore_errors=True)
        if self.trash.is_dir() and not any(self.trash.iterdir()):
            self.trash.rmdir()
