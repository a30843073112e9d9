"""Every public view to Parquet or CSV files (one per view) or to one SQLite database.

Each file is written to a temporary name beside its destination and renamed over it, so an
export that fails half-way (full disk, Ctrl-C) leaves the previous export intact. CSV cells that
a spreadsheet would run as a formula (text starting with `=`, `+`, `-`, `@`, tab or carriage
return) get a leading `'`; numeric columns are never touched. Lists and structs become JSON text
in CSV and SQLite.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime
from pathlib import Path

import polars as pl

from .choices import EXPORT_FORMATS
from .errors import OutputFailed
from .outfiles import atomic_path, check_export_out
from .output import json_safe
from .store import Store, quote_identifier

VIEWS: tuple[str, ...] = ("studies", "trials", "memory_samples", "ingest_errors", "failures", "failure_evidence",
         "memory", "contained_eco_classes", "trial_log_lines")
# sql/schema_time.sql and sql/schema_metrics.sql
VIEWS += ("time", "timeout_suggestions", "trial_metrics", "metric_vs_baseline", "metric_best_worst",
          "metric_by_eco_class", "metric_history")
FORMATS = EXPORT_FORMATS
FORMULA_START = r"^[=+\-@\t\r]"


def out_names(fmt: str) -> list[str]:
    """The files an export writes inside its --out folder (parquet, csv)."""
    return [] if fmt == "sqlite" else [f"{view}.{fmt}" for view in VIEWS]


def export_views(store: Store, fmt: str, out: str | Path) -> dict[str, int]:
    """Write every view; returns rows written per view."""
    check_export_out(out, fmt, store.path, out_names(fmt))
    out = Path(out)
    counts: dict[str, int] = {}
    try:
        if fmt == "sqlite":
            with atomic_path(out) as tmp:
                with sqlite3.connect(tmp) as db:
                    for view in VIEWS:
                        counts[view] = _to_sqlite(db, view, _view(store, view))
                db.close()
            return counts
        out.mkdir(parents=True, exist_ok=True)
        for view in VIEWS:
            frame = _view(store, view)
            with atomic_path(out / f"{view}.{fmt}") as tmp:
                if fmt == "parquet":
                    frame.write_parquet(tmp)
                else:
                    neutralize_formulas(nested_as_json(frame)).write_csv(tmp)
            counts[view] = frame.height
    except (OSError, sqlite3.Error, pl.exceptions.PolarsError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc).strip().splitlines()[0]
        raise OutputFailed(f"export to {out}: could not write ({reason}); no file is half-written: "
                           f"each is unchanged or complete") from exc
    return counts


def _view(store: Store, view: str) -> pl.DataFrame:
    return store.frame(f"SELECT * FROM {quote_identifier(view)}", origin=f"export {view}")


def nested_as_json(frame: pl.DataFrame) -> pl.DataFrame:
    """Lists, arrays and structs as JSON text (CSV and SQLite have no nested types)."""
    nested = [c for c, t in frame.schema.items() if t.is_nested()]
    return frame.with_columns(
        pl.Series(c, [None if v is None else json.dumps(json_safe(v), ensure_ascii=False)
                      for v in frame[c].to_list()], dtype=pl.String)
        for c in nested)


def neutralize_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Text a spreadsheet would evaluate (`=cmd|...`, `+1+1`, `-2+3`, `@SUM(...)`) gets a leading
    `'` so it shows as text; numeric columns stay numbers."""
    text = [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(FORMULA_START)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in text)


_SQLITE_TYPES = {pl.Int8: "INTEGER", pl.Int16: "INTEGER", pl.Int32: "INTEGER", pl.Int64: "INTEGER",
                 pl.UInt8: "INTEGER", pl.UInt16: "INTEGER", pl.UInt32: "INTEGER", pl.UInt64: "INTEGER",
                 pl.Boolean: "INTEGER", pl.Float32: "REAL", pl.Float64: "REAL"}


def _sqlite_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _to_sqlite(db: sqlite3.Connection, view: str, frame: pl.DataFrame) -> int:
    frame = nested_as_json(frame)
    cols = ", ".join(f"{quote_identifier(c)} {_SQLITE_TYPES.get(t.base_type(), 'TEXT')}"
                     for c, t in frame.schema.items())
    db.execute(f"CREATE TABLE {quote_identifier(view)} ({cols})")
    marks = ", ".join("?" for _ in frame.columns)
    db.executemany(f"INSERT INTO {quote_identifier(view)} VALUES ({marks})",
                   ([_sqlite_value(v) for v in row] for row in frame.iter_rows()))
    return frame.height
