"""Every public view to Parquet or CSV files (one per view) or to one SQLite database."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from pathlib import Path

import polars as pl

from .store import Store, quote_identifier

VIEWS = ("studies", "trials", "memory_samples", "ingest_errors", "failures", "failure_evidence",
         "memory", "contained_eco_classes", "trial_log_lines")
# sql/schema_time.sql and sql/schema_metrics.sql
VIEWS += ("time", "timeout_suggestions", "trial_metrics", "metric_vs_baseline", "metric_best_worst",
          "metric_by_eco_class", "metric_history")
FORMATS = ("parquet", "csv", "sqlite")


def export_views(store: Store, fmt: str, out: str | Path) -> dict[str, int]:
    """Write every view; returns rows written per view."""
    out = Path(out)
    counts: dict[str, int] = {}
    if fmt == "sqlite":
        if out.exists():
            out.unlink()
        out.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(out) as db:
            for view in VIEWS:
                counts[view] = _to_sqlite(db, view, store.frame(f"SELECT * FROM {quote_identifier(view)}",
                                                                origin=f"export {view}"))
        return counts
    out.mkdir(parents=True, exist_ok=True)
    for view in VIEWS:
        frame = store.frame(f"SELECT * FROM {quote_identifier(view)}", origin=f"export {view}")
        if fmt == "parquet":
            frame.write_parquet(out / f"{view}.parquet")
        else:
            # CSV has no list type: lists become JSON-style text
            frame.with_columns(pl.col(pl.List(pl.String)).list.join(",")).write_csv(out / f"{view}.csv")
        counts[view] = frame.height
    return counts


_SQLITE_TYPES = {pl.Int8: "INTEGER", pl.Int16: "INTEGER", pl.Int32: "INTEGER", pl.Int64: "INTEGER",
                 pl.UInt8: "INTEGER", pl.UInt16: "INTEGER", pl.UInt32: "INTEGER", pl.UInt64: "INTEGER",
                 pl.Boolean: "INTEGER", pl.Float32: "REAL", pl.Float64: "REAL"}


def _sqlite_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return ",".join(map(str, value))
    return value


def _to_sqlite(db: sqlite3.Connection, view: str, frame: pl.DataFrame) -> int:
    cols = ", ".join(f"{quote_identifier(c)} {_SQLITE_TYPES.get(t.base_type(), 'TEXT')}"
                     for c, t in frame.schema.items())
    db.execute(f"CREATE TABLE {quote_identifier(view)} ({cols})")
    marks = ", ".join("?" for _ in frame.columns)
    db.executemany(f"INSERT INTO {quote_identifier(view)} VALUES ({marks})",
                   ([_sqlite_value(v) for v in row] for row in frame.iter_rows()))
    return frame.height
