"""Write query results to stdout as table, csv, json (one array) or jsonl. Data only."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from typing import IO

import polars as pl

FORMATS = ("table", "csv", "json", "jsonl")


def _jsonable(value: object) -> object:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def write_frame(frame: pl.DataFrame, fmt: str, out: IO[str] | None = None) -> None:
    out = out or sys.stdout
    if fmt == "csv":
        out.write(frame.write_csv())
    elif fmt == "json":
        rows = [{k: _jsonable(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]
        json.dump(rows, out, default=str)
        out.write("\n")
    elif fmt == "jsonl":
        for row in frame.iter_rows(named=True):
            out.write(json.dumps({k: _jsonable(v) for k, v in row.items()}, default=str) + "\n")
    else:
        with pl.Config(tbl_rows=-1, tbl_cols=-1, fmt_str_lengths=80, tbl_width_chars=200,
                       tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
            out.write(str(frame) + "\n")
