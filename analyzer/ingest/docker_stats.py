"""`docker stats` in every form it is printed: JSON lines (plain or streamed with ANSI codes),
the CLI table (modern, pre-2017 spaced units, 2015 `MEM USAGE/LIMIT`, Windows), and Engine API
stats objects (cgroup v1 and v2, one per line or an array). See spec/formats.md sections 1-2."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..units import parse_time_or_none, stats_size_bytes
from . import ParseError
from .safe_io import loads_json, sub_dict

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_CELL_SPLIT = re.compile(r"\s{2,}|\t+")
_PAIR = re.compile(r"^(?P<a>[^/]+?)\s*/\s*(?P<b>[^/]+)$")


@dataclass
class MemorySample:
    sample_index: int
    sampled_at: datetime | None
    usage_bytes: float | None
    limit_bytes: float | None
    source: str
    container: str | None


@dataclass
class StatsResult:
    samples: list[MemorySample]
    max_usage_bytes: float | None  # Engine API v1 `max_usage` (memory.max_usage_in_bytes)
    oom_events: int | None         # Engine API v2 `failcnt` = memory.events `oom`


def parse_docker_stats(text: str) -> StatsResult:
    """Parse any supported `docker stats` dump into samples (in file order)."""
    clean = _ANSI.sub("", text).replace("\r", "\n")
    stripped = clean.strip()
    if not stripped:
        raise ParseError("empty docker stats file", "no memory samples were taken from it")
    if stripped[0] in "[{":
        return _parse_json(stripped)
    return _parse_table(clean)


def _parse_json(text: str) -> StatsResult:
    objects: list[Any] = []
    try:
        doc = loads_json(text)
        objects = doc if isinstance(doc, list) else [doc]
    except json.JSONDecodeError:
        bad = 0
        for line in text.splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                objects.append(loads_json(line))
            except json.JSONDecodeError:
                bad += 1
        if not objects:
            raise ParseError("not valid JSON or JSON lines", "no memory samples were taken from it") from None
        if bad:
            # keep what parsed; the caller records the partial read
            result = _from_objects(objects)
            raise PartialStats(result, f"{bad} line(s) are not valid JSON") from None
    return _from_objects(objects)


class PartialStats(ParseError):
    """Some lines parsed, some did not: keep the samples, record the problem."""

    def __init__(self, result: StatsResult, problem: str) -> None:
        super().__init__(problem, "the valid samples were kept")
        self.result = result


def _from_objects(objects: list[Any]) -> StatsResult:
    samples: list[MemorySample] = []
    max_usage: float | None = None
    oom_events: int | None = None
    for i, obj in enumerate(objects):
        if not isinstance(obj, dict):
            continue
        if "memory_stats" in obj or "read" in obj:
            sample, mx, ooms = _engine_api_sample(i, obj)
            samples.append(sample)
            if mx is not None:
                max_usage = max(max_usage or 0.0, mx)
            if ooms is not None:
                oom_events = max(oom_events or 0, ooms)
        elif "MemUsage" in obj:
            usage, limit = _mem_usage_pair(str(obj.get("MemUsage", "")))
            names = (obj.get("Name"), obj.get("Container"), obj.get("ID"))
            samples.append(MemorySample(i, None, usage, limit, "docker_stats_cli",
                                        next((str(n) for n in names if isinstance(n, str) and n), None)))
    if not samples:
        raise ParseError("JSON without docker stats fields (MemUsage or memory_stats)",
                         "no memory samples were taken from it")
    return StatsResult(samples, max_usage, oom_events)


def _num(value: object) -> float | None:
    """A JSON number as a float; anything else (text, lists, 2**70000) is unknown."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:
        return None


def _engine_api_sample(i: int, obj: dict[str, Any]) -> tuple[MemorySample, float | None, int | None]:
    mem = sub_dict(obj, "memory_stats")
    stats = sub_dict(mem, "stats")
    usage = _num(mem.get("usage"))
    if usage is not None:
        # what `docker stats` displays: usage minus inactive file cache (v1 total_, v2 plain)
        inactive = _num(stats.get("total_inactive_file", stats.get("inactive_file")))
        if inactive is not None and inactive < usage:
            usage = usage - inactive
    is_v2 = "anon" in stats and "total_inactive_file" not in stats
    max_usage = None if is_v2 else _num(mem.get("max_usage"))
    failcnt = mem.get("failcnt") if is_v2 else None
    oom_events = failcnt if isinstance(failcnt, int) and not isinstance(failcnt, bool) else None
    raw_name = obj.get("name")
    name = (raw_name.lstrip("/") if isinstance(raw_name, str) else "") or \
        (obj.get("id") if isinstance(obj.get("id"), str) else None)
    source = "engine_api_v2" if is_v2 else "engine_api_v1"
    return (MemorySample(i, parse_time_or_none(obj.get("read")), usage,
                         _num(mem.get("limit")) or None, source, name),
            max_usage or None, oom_events)


def _mem_usage_pair(cell: str) -> tuple[float | None, float | None]:
    cell = cell.strip()
    if cell in ("--", "-- / --", ""):
        return None, None
    m = _PAIR.match(cell)
    try:
        if m:
            return stats_size_bytes(m["a"]), stats_size_bytes(m["b"])
        return stats_size_bytes(cell), None  # Windows: private working set only
    except ValueError as exc:
        raise ParseError(f"unreadable MEM USAGE cell {cell!r}: {exc}", "the sample was skipped") from exc


def _is_size_pair(cell: str) -> bool:
    m = _PAIR.match(cell.strip())
    if not m:
        return False
    try:
        return stats_size_bytes(m["a"]) is not None and stats_size_bytes(m["b"]) is not None
    except ValueError:
        return False


def _parse_table(text: str) -> StatsResult:
    samples: list[MemorySample] = []
    mem_col: int | None = None
    name_col: int | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        cells = _CELL_SPLIT.split(line)
        upper = [c.upper() for c in cells]
        if any("MEM USAGE" in c or "PRIV WORKING SET" in c for c in upper):
            mem_col = next(i for i, c in enumerate(upper) if "MEM USAGE" in c or "PRIV WORKING SET" in c)
            name_col = upper.index("NAME") if "NAME" in upper else 0
            continue
        col = mem_col
        if col is None or col >= len(cells):
            # headerless rows: MEM USAGE / LIMIT is the first size pair (NET I/O comes later)
            col = next((i for i, c in enumerate(cells) if _is_size_pair(c) or c.strip() == "-- / --"), None)
            if col is None:
                continue
        usage, limit = _mem_usage_pair(cells[col])
        container = cells[name_col if name_col is not None and name_col < len(cells) else 0]
        samples.append(MemorySample(len(samples), None, usage, limit, "docker_stats_cli", container))
    if not samples:
        raise ParseError("no docker stats rows found (no MEM USAGE column or size pair)",
                         "no memory samples were taken from it")
    return StatsResult(samples, None, None)
