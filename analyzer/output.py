"""Write query results to stdout as table, csv, tsv, markdown, json (one array) or jsonl. Data only.

Every value DuckDB can return renders in every format without failing: intervals as DuckDB's
text, lists/structs/maps as JSON text (csv, tsv, table, markdown) or JSON values (json, jsonl),
NaN and infinities as `NaN`/`Infinity`/`-Infinity` (strings in JSON, which has no such numbers),
BLOBs as `\\xNN` text. `table` fits a width: long cells end in `…`, never wrap.
"""

from __future__ import annotations

import csv
import json
import math
import re
import sys
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any
from uuid import UUID

from .choices import OUTPUT_FORMATS
from .store import QueryResult

if TYPE_CHECKING:
    import polars as pl

FORMATS = OUTPUT_FORMATS
ELLIPSIS = "…"
MIN_COLUMN_WIDTH = 5  # a column squeezed to fit keeps at least this many characters
_NUMERIC = re.compile(r"^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|DOUBLE|FLOAT|REAL|DECIMAL.*|U?HUGEINT)$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


# ----------------------------------------------------------------------------- one value

def _float_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def json_safe(value: Any) -> Any:
    """A value json.dumps writes as valid JSON (no NaN tokens, no failing types)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _float_text(value)
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _blob_text(bytes(value))
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return str(value)  # UUID, timedelta, anything newer


def _blob_text(value: bytes) -> str:
    return "".join(chr(b) if 32 <= b < 127 and b != 92 else f"\\x{b:02X}" for b in value)


def cell_text(value: Any, *, iso: bool = True) -> str | None:
    """One value as text, None for SQL NULL. `iso`: timestamps as `2026-11-28T10:00:00`."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, (int, Decimal, UUID)):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat() if iso else str(value)
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _blob_text(bytes(value))
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(json_safe(value), ensure_ascii=False)
    return str(value)


# ----------------------------------------------------------------------------- formats

def write_frame(frame: pl.DataFrame | QueryResult, fmt: str, out: IO[str] | None = None) -> list[str]:
    """A frame analyzer computed (not user SQL) in any `--format`; a table fits the terminal
    when stdout is one, and is never cut when piped."""
    import shutil

    out = out or sys.stdout
    width = shutil.get_terminal_size().columns if fmt == "table" and out.isatty() else None
    result = frame if isinstance(frame, QueryResult) else \
        QueryResult(list(frame.columns), [str(t) for t in frame.dtypes], frame.rows())
    return write_result(result, fmt, out, width)


def write_result(result: QueryResult, fmt: str, out: IO[str] | None = None,
                 width: int | None = None) -> list[str]:
    """Write `result` in `fmt`; returns notes for stderr (e.g. columns a narrow table left out).

    `width` applies to `table` only: None is unlimited (piped output, `--no-truncate`)."""
    out = out or sys.stdout
    if not result.columns:
        return []
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([_csv_cell(v) for v in row] for row in result.rows)
    elif fmt == "tsv":
        out.write("\t".join(_tsv_cell(c) for c in result.columns) + "\n")
        for row in result.rows:
            out.write("\t".join(_tsv_cell(v) for v in row) + "\n")
    elif fmt == "json":
        rows = [_json_row(result.columns, row) for row in result.rows]
        json.dump(rows, out, ensure_ascii=False)
        out.write("\n")
    elif fmt == "jsonl":
        for row in result.rows:
            out.write(json.dumps(_json_row(result.columns, row), ensure_ascii=False) + "\n")
    elif fmt == "markdown":
        _write_markdown(result, out)
    else:
        return _write_table(result, out, width)
    return []


def _csv_cell(value: Any) -> Any:
    text = cell_text(value)
    return "" if text is None else text


def _tsv_cell(value: Any) -> str:
    """PostgreSQL text-format escapes, so one row stays one line and columns stay columns."""
    text = cell_text(value)
    if text is None:
        return ""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _json_row(columns: list[str], row: tuple[Any, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in zip(columns, row):
        key, n = name, 1
        while key in out:  # `select 1 a, 2 a`: keep both
            n += 1
            key = f"{name}_{n}"
        out[key] = json_safe(value)
    return out


def _display_text(value: Any, null: str) -> str:
    text = cell_text(value, iso=False)
    if text is None:
        return null
    text = text.replace("\r\n", "\n").replace("\n", "↵").replace("\t", " ")
    return _CONTROL.sub("�", text)


def _write_markdown(result: QueryResult, out: IO[str]) -> None:
    def cell(text: str) -> str:
        return text.replace("\\", "\\\\").replace("|", "\\|").replace("↵", "<br>")

    numeric = [bool(_NUMERIC.match(t)) for t in result.types]
    out.write("| " + " | ".join(cell(c) for c in result.columns) + " |\n")
    out.write("|" + "|".join("---:" if n else "---" for n in numeric) + "|\n")
    for row in result.rows:
        out.write("| " + " | ".join(cell(_display_text(v, "")) for v in row) + " |\n")


# ----------------------------------------------------------------------------- table

def text_width(text: str) -> int:
    """Terminal columns `text` takes (wide East Asian characters take two, combining marks none)."""
    if text.isascii():
        return len(text)
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in text)


def _cut(text: str, width: int) -> str:
    """`text` cut to `width` columns, ending in … when cut."""
    if text_width(text) <= width:
        return text
    if text.isascii():
        return text[: max(width - 1, 0)] + ELLIPSIS
    kept, used = [], 0
    for ch in text:
        w = text_width(ch)
        if used + w > width - 1:
            break
        kept.append(ch)
        used += w
    return "".join(kept) + ELLIPSIS


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - text_width(text))
    return gap + text if right else text + gap


def fit_widths(natural: list[int], available: int, whole: list[bool] | None = None,
               data: list[int] | None = None) -> list[int] | None:
    """Column widths that fit `available` characters of content, or None if even the minimum
    widths do not. `natural`: widest text per column, header included; `data`: widest value.
    Long headers are cut first (to their column's values), then the widest columns share what
    is left; narrow columns and `whole` ones (numbers) keep their full width if they can."""
    if sum(natural) <= available:
        return natural
    floors = [min(w, MIN_COLUMN_WIDTH) for w in natural]
    if sum(floors) > available:
        return None
    if data is not None:
        # headers down to their values' width: the values are what the reader came for
        shrunk = [max(min(n, max(d, f)), f) for n, d, f in zip(natural, data, floors)]
        if sum(shrunk) <= available:
            spare = available - sum(shrunk)
            for i in sorted(range(len(natural)), key=lambda i: natural[i] - shrunk[i]):
                give = min(natural[i] - shrunk[i], spare)
                shrunk[i] += give
                spare -= give
            return shrunk
        natural = shrunk
    if whole:
        kept = [w if keep else f for w, f, keep in zip(natural, floors, whole)]
        if sum(kept) <= available:
            floors = kept
    # largest cap c with sum(max(min(w, c), floor)) <= available, then hand out the remainder
    lo, hi = 0, max(natural)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sum(max(min(w, mid), f) for w, f in zip(natural, floors)) <= available:
            lo = mid
        else:
            hi = mid - 1
    widths = [max(min(w, lo), f) for w, f in zip(natural, floors)]
    spare = available - sum(widths)
    for i in sorted(range(len(natural)), key=lambda i: -natural[i]):
        if spare <= 0:
            break
        if widths[i] < natural[i]:
            widths[i] += 1
            spare -= 1
    return widths


def _write_table(result: QueryResult, out: IO[str], width: int | None) -> list[str]:
    columns = [_display_text(c, "") for c in result.columns]
    cells = [[_display_text(v, "NULL") for v in row] for row in result.rows]
    numeric = [bool(_NUMERIC.match(t)) for t in result.types]
    data = [max([1] + [text_width(row[i]) for row in cells]) for i in range(len(columns))]
    natural = [max(text_width(c), d) for c, d in zip(columns, data)]
    notes: list[str] = []
    keep = len(columns)
    widths: list[int] | None = natural
    if width is not None:
        while True:
            widths = fit_widths(natural[:keep], width - (3 * keep + 1), numeric[:keep], data[:keep])
            if widths is not None or keep == 1:
                break
            keep -= 1
        if widths is None:
            widths = [max(width - 4, 1)]
        if keep < len(columns):
            notes.append(f"table: {len(columns) - keep} of {len(columns)} columns do not fit in "
                         f"{width} characters and are not shown ({', '.join(result.columns[keep:])}); "
                         f"use --no-truncate, --format csv, or select fewer columns")
    assert widths is not None  # natural, fitted, or the one-column fallback
    widths = list(widths)

    def line(left: str, mid: str, right: str) -> str:
        return left + mid.join("─" * (w + 2) for w in widths) + right + "\n"

    def row_text(texts: Iterable[str], align: list[bool]) -> str:
        parts = [_pad(_cut(t, w), w, r) for t, w, r in zip(texts, widths, align)]
        return "│ " + " │ ".join(parts) + " │\n"

    out.write(line("┌", "┬", "┐"))
    out.write(row_text(columns[:keep], [False] * keep))
    out.write(line("├", "┼", "┤"))
    for row in cells:
        out.write(row_text(row[:keep], numeric[:keep]))
    out.write(line("└", "┴", "┘"))
    return notes
