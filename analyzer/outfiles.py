"""Outputs never replace inputs: checks on `--out` paths and atomic writes.

A report or export is written to a temporary file in the destination folder and renamed over
the old one (`os.replace`), so an interrupted or failed write (a full disk, Ctrl-C) leaves the
previous file intact. An `--out` that is the store itself, or an existing file of another
kind, is refused before anything is written.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from .errors import OutputFailed, OutputRefused
from .store import default_db_path

SQLITE_MAGIC = b"SQLite format 3\x00"


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def refuse_store(out: str | Path, store_path: str | None) -> None:
    """`out` must not be empty, the store, its WAL, or the same file under another name (a link)."""
    if not str(out).strip():
        raise OutputRefused("--out is empty; give the file (or, for parquet/csv, the folder) to write")
    store = Path(store_path or default_db_path())
    target = Path(out)
    for protected in (store, Path(str(store) + ".wal")):
        if _same_file(target, protected) or os.path.realpath(target) == os.path.realpath(protected):
            raise OutputRefused(f"--out {out}: that is the store ({store}); writing there would "
                                f"destroy it. Pass another --out")


def _head(path: Path, n: int = 512) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError as exc:
        raise OutputRefused(f"--out {path}: cannot read the existing file to check it: {exc.strerror}") from exc


def check_report_out(out: str | Path, store_path: str | None) -> None:
    """A report may replace an earlier HTML file, nothing else."""
    refuse_store(out, store_path)
    path = Path(out)
    if path.is_dir():
        raise OutputRefused(f"--out {out}: is a folder; give the HTML file to write, e.g. {path / 'report.html'}")
    if path.exists():
        if not path.is_file():
            raise OutputRefused(f"--out {out}: exists and is not a regular file")
        head = _head(path).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        if head and not (head.startswith(b"<!doctype html") or head.startswith(b"<html")):
            raise OutputRefused(f"--out {out}: exists and is not an HTML file; pass another --out "
                                f"or delete it first")


def check_export_out(out: str | Path, fmt: str, store_path: str | None, names: list[str]) -> None:
    """sqlite: a new file or an earlier SQLite file; parquet/csv: a folder (its view files only)."""
    refuse_store(out, store_path)
    path = Path(out)
    if fmt == "sqlite":
        if path.is_dir():
            raise OutputRefused(f"--out {out}: is a folder; --format sqlite writes one file, e.g. {path / 'views.sqlite'}")
        if path.exists():
            if not path.is_file():
                raise OutputRefused(f"--out {out}: exists and is not a regular file")
            head = _head(path, len(SQLITE_MAGIC))
            if head and head != SQLITE_MAGIC:
                raise OutputRefused(f"--out {out}: exists and is not a SQLite database; pass another "
                                    f"--out or delete it first")
        return
    if path.exists() and not path.is_dir():
        raise OutputRefused(f"--out {out}: is a file; --format {fmt} writes one file per view into a folder")
    for name in names:
        target = path / name
        refuse_store(target, store_path)
        if target.is_dir():
            raise OutputRefused(f"--out {out}: {target} is a folder; cannot write the view there")


@contextmanager
def atomic_path(out: str | Path) -> Iterator[Path]:
    """A temporary path beside `out` to write to; renamed over `out` only if the block succeeds.
    Missing folders are created."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if out.exists():
            with suppress(OSError):
                os.chmod(tmp_path, out.stat().st_mode & 0o7777)
        else:
            os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, out)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(out: str | Path, text: str) -> None:
    try:
        with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        raise OutputFailed(f"--out {out}: could not write ({exc.strerror or exc}); the previous "
                           f"file, if any, is unchanged") from exc
