"""The typed trial record: every value is type- and range-checked before it reaches a column.

Readers hand over raw values (whatever a JSON, YAML or text file held). `coerce` turns one raw
value into the column's type or raises `BadValue`; `TrialRecord.put` keeps the first good value
of each field and turns a bad one into a problem for `ingest_errors`. So one bad value costs
that value: never the trial, never the batch, and NaN / Infinity / absurd sizes never reach a
report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from ..units import parse_time
from . import ParseError
from .safe_io import display

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

INT32 = (-(1 << 31), (1 << 31) - 1)
INT64 = (-(1 << 63), (1 << 63) - 1)
MAX_MEMORY_MB = float(1 << 30)       # 1 PiB: no container peak or limit is larger
MAX_SECONDS = 10 * 365 * 86400.0     # ten years: no trial runs longer
MAX_TEXT = 100_000                   # characters kept of any one text value


class BadValue(ParseError):
    """One value of a file could not be used; the rest of the file still counts."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem, "the value was dropped; the trial was kept")


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadValue(f"{name}: expected a number, found {_show(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise BadValue(f"{name}: {_show(value)} is out of range") from None
    if not math.isfinite(number):
        raise BadValue(f"{name}: {_show(value)} is not a finite number")
    return number


def _integer(value: Any, name: str, lo: int, hi: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadValue(f"{name}: expected an integer, found {_show(value)}")
    if not lo <= value <= hi:
        raise BadValue(f"{name}: {_show(value)} is out of range")
    return value


def _show(value: Any) -> str:
    if isinstance(value, (list, dict)):
        return f"a JSON {'list' if isinstance(value, list) else 'object'}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# number kinds -> (0 allowed, highest value, unit, what the value is): one range check for all
_PLAUSIBLE: dict[str, tuple[bool, float, str, str]] = {
    "mb": (True, MAX_MEMORY_MB, "MB", "memory size"),
    "limit_mb": (False, MAX_MEMORY_MB, "MB", "memory limit"),
    "seconds": (True, MAX_SECONDS, "s", "duration"),
}


def coerce(kind: str, value: Any, name: str) -> Any:
    """One raw value as the column type `kind`; None stays None; BadValue if it cannot be."""
    if value is None:
        return None
    if kind == "str" or kind == "json":
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise BadValue(f"{name}: expected text, found {_show(value)}")
        text = display(str(value))
        return text[:MAX_TEXT] if text else None
    if kind == "bool":
        if not isinstance(value, bool):
            raise BadValue(f"{name}: expected true/false, found {_show(value)}")
        return value
    if kind == "int32":
        return _integer(value, name, *INT32)
    if kind == "count":
        return _integer(value, name, 0, INT64[1])
    if kind == "exit":
        # POSIX codes are 0..255 (or -N for a signal); Windows NTSTATUS codes are unsigned 32-bit
        # (3221225477 = 0xC0000005): kept exactly, in a BIGINT column.
        return _integer(value, name, INT32[0], (1 << 32) - 1)
    if kind in _PLAUSIBLE:
        zero_ok, highest, unit, what = _PLAUSIBLE[kind]
        number = _number(value, name)
        if number < 0 or (number == 0 and not zero_ok) or number > highest:
            raise BadValue(f"{name}: {number:g} {unit} is not a plausible {what}")
        return number
    if kind == "time":
        try:
            return parse_time(value)
        except ValueError as exc:
            raise BadValue(f"{name}: {exc}") from None
    raise AssertionError(f"unknown kind {kind}")


# column -> (kind, polars type). The trial_facts table, in its column order.
COLUMNS: dict[str, tuple[str, PolarsDataType]] = {
    "trial_id": ("str", pl.String), "study": ("str", pl.String), "root": ("str", pl.String),
    "case_name": ("str", pl.String), "stage_index": ("int32", pl.Int32),
    "trial_index": ("int32", pl.Int32), "trial_dir": ("str", pl.String), "layout": ("str", pl.String),
    "crashed_before_dir": ("bool", pl.Boolean), "eco_name": ("str", pl.String),
    "eco_class": ("str", pl.String), "eco_class_source": ("str", pl.String),
    "eco_parameters": ("json", pl.String), "exit_code": ("exit", pl.Int64),
    "exit_code_source": ("str", pl.String), "timed_out": ("bool", pl.Boolean),
    "oom_killed": ("bool", pl.Boolean), "oom_kill_events": ("count", pl.Int64),
    "oom_events": ("count", pl.Int64), "started_at": ("time", pl.Datetime("us")),
    "finished_at": ("time", pl.Datetime("us")), "runtime_seconds": ("seconds", pl.Float64),
    "container_id": ("str", pl.String), "command": ("str", pl.String), "image": ("str", pl.String),
    "timeout_seconds": ("seconds", pl.Float64), "peak_cgroup_mb": ("mb", pl.Float64),
    "peak_stats_mb": ("mb", pl.Float64), "peak_summary_mb": ("mb", pl.Float64),
    "peak_time_mb": ("mb", pl.Float64), "peak_orfs_mb": ("mb", pl.Float64),
    "limit_inspect_mb": ("limit_mb", pl.Float64), "limit_inspect_unlimited": ("bool", pl.Boolean),
    "limit_cgroup_mb": ("limit_mb", pl.Float64), "limit_config_mb": ("limit_mb", pl.Float64),
    "limit_noodle2_mb": ("limit_mb", pl.Float64), "limit_default_mb": ("limit_mb", pl.Float64),
    "stdout_bytes": ("count", pl.Int64), "stderr_bytes": ("count", pl.Int64),
    "invalid_utf8_bytes": ("count", pl.Int64), "source_failure_type": ("str", pl.String),
    "source_failure_severity": ("str", pl.String), "source_failure_reason": ("str", pl.String),
    "metrics_json": ("json", pl.String), "fingerprint": ("str", pl.String),
    "ingested_at": ("time", pl.Datetime("us")),
    # analyzer/ingest/metrics.py writes it (our own JSON); the column comes from sql/schema_metrics.sql
    "file_metrics_json": ("json", pl.String),
    "stage_name": ("str", pl.String),  # a generic trial's stage given as a name; sql/schema_memory.sql
}
SCHEMA: dict[str, PolarsDataType] = {name: dtype for name, (_, dtype) in COLUMNS.items()}


@dataclass
class TrialRecord:
    """One trial's facts, each checked against its column (see COLUMNS for kinds and ranges)."""

    trial_id: str | None = None
    study: str | None = None
    root: str | None = None
    case_name: str | None = None
    stage_index: int | None = None
    trial_index: int | None = None
    trial_dir: str | None = None
    layout: str | None = None
    crashed_before_dir: bool | None = None
    eco_name: str | None = None
    eco_class: str | None = None
    eco_class_source: str | None = None
    eco_parameters: str | None = None
    exit_code: int | None = None
    exit_code_source: str | None = None
    timed_out: bool | None = None
    oom_killed: bool | None = None
    oom_kill_events: int | None = None
    oom_events: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    runtime_seconds: float | None = None
    container_id: str | None = None
    command: str | None = None
    image: str | None = None
    timeout_seconds: float | None = None
    peak_cgroup_mb: float | None = None
    peak_stats_mb: float | None = None
    peak_summary_mb: float | None = None
    peak_time_mb: float | None = None
    peak_orfs_mb: float | None = None
    limit_inspect_mb: float | None = None
    limit_inspect_unlimited: bool | None = None
    limit_cgroup_mb: float | None = None
    limit_config_mb: float | None = None
    limit_noodle2_mb: float | None = None
    limit_default_mb: float | None = None
    stdout_bytes: int | None = None
    stderr_bytes: int | None = None
    invalid_utf8_bytes: int | None = None
    source_failure_type: str | None = None
    source_failure_severity: str | None = None
    source_failure_reason: str | None = None
    metrics_json: str | None = None
    fingerprint: str | None = None
    ingested_at: datetime | None = None
    file_metrics_json: str | None = None
    stage_name: str | None = None
    problems: list[str] = field(default_factory=list, repr=False, compare=False)

    def put(self, name: str, value: Any, *, replace: bool = False) -> bool:
        """Set `name` to the checked `value` unless already set (or `replace`); a bad value is
        kept out and its problem noted in `problems`. True if the field was set."""
        if not replace and getattr(self, name) is not None:
            return False
        try:
            checked = coerce(COLUMNS[name][0], value, name)
        except BadValue as exc:
            self.problems.append(exc.problem)
            return False
        if checked is None:
            return False
        setattr(self, name, checked)
        return True

    def update(self, values: dict[str, Any], *, replace: bool = False) -> list[str]:
        """`put` every known column of `values`; returns the problems of this call."""
        before = len(self.problems)
        for name, value in values.items():
            if name in COLUMNS:
                self.put(name, value, replace=replace)
        return self.problems[before:]

    def row(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in COLUMNS}


def frame(records: list[TrialRecord]) -> pl.DataFrame:
    """trial_facts rows (every value already fits its column)."""
    return pl.DataFrame([r.row() for r in records], schema=SCHEMA)
