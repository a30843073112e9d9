"""One trial: run the table's readers over its files and fold their facts into a typed record.

Each reader's facts go through `TrialRecord.update`: for each field the first good value wins
(READERS is in precedence order) and a bad value becomes a problem of that file. A reader that
raises anything (ParseError or, if a reader has a bug, any other exception) costs that file only.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ..eco import default_eco_classes
from ..units import MIB
from . import ParseError
from .discover import TrialArtifacts, study_dir_of
from .docker_stats import MemorySample
from .metrics import read_metric_files
from .readers import BY_ROLE, READERS, Facts, Reader
from .record import MAX_MEMORY_MB, TrialRecord
from .safe_io import display, read_text

SAMPLE_COLUMNS: dict[str, PolarsDataType] = {"trial_id": pl.String, "sample_index": pl.Int32, "sampled_at": pl.Datetime("us"),
                  "usage_bytes": pl.Float64, "limit_bytes": pl.Float64, "source": pl.String,
                  "container": pl.String}
_MAX_BYTES = MAX_MEMORY_MB * MIB

if TYPE_CHECKING:
    from polars._typing import PolarsDataType


@dataclass
class ParsedTrial:
    art: TrialArtifacts
    rec: TrialRecord
    samples: list[dict[str, Any]] = field(default_factory=list)
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # path, problem, hint
    readable_id: str = ""

    def log_files(self) -> list[tuple[str, str]]:
        """(stream, path) of every log this trial has."""
        return [(BY_ROLE[role].log_stream or role, path) for role, path in self.art.files.items()
                if BY_ROLE.get(role) and BY_ROLE[role].log_stream]


def run_reader(reader: Reader, path: str) -> Facts:
    """The reader's facts; every failure is a ParseError naming the problem (never anything else)."""
    assert reader.read is not None
    try:
        return reader.read(path, read_text(path))
    except ParseError:
        raise
    except OSError as exc:
        raise ParseError(f"cannot read: {exc.strerror or exc}", reader.hint) from exc
    except RecursionError as exc:
        raise ParseError("nested too deeply", reader.hint) from exc
    except Exception as exc:  # a reader bug must cost this file, not the batch
        raise ParseError(f"unexpected {type(exc).__name__} while reading: {exc}"[:300], reader.hint) from exc


def parse_trial(art: TrialArtifacts, study_option: str | None, stamp: datetime) -> ParsedTrial:
    rec = TrialRecord(trial_dir=display(art.trial_dir), layout=art.layout, root=display(art.root),
                      fingerprint=art.fingerprint, ingested_at=stamp, crashed_before_dir=False)
    parsed = ParsedTrial(art, rec, errors=[(display(p), e, h) for p, e, h in art.problems])
    stats_samples: list[MemorySample] = []
    cgroup_samples: list[MemorySample] = []
    stats_max: float | None = None
    for reader in READERS:
        path = art.files.get(reader.role)
        if path is None or reader.read is None:
            continue
        try:
            facts = run_reader(reader, path)
        except ParseError as exc:
            parsed.errors.append((display(path), exc.problem, exc.hint))
            continue
        values = dict(facts.values)
        source = values.pop("exit_code_source", None)
        if "exit_code" in values and rec.exit_code is None:
            before = len(rec.problems)
            if rec.put("exit_code", values.pop("exit_code")):
                rec.put("exit_code_source", source)
            parsed.errors.extend((display(path), p, "the value was dropped; the trial was kept")
                                 for p in rec.problems[before:])
        values.pop("exit_code", None)
        problems = rec.update(values)
        parsed.errors.extend((display(path), p, "the value was dropped; the trial was kept") for p in problems)
        parsed.errors.extend((display(path), p, h) for p, h in facts.notes)
        if reader.role == "stats":
            stats_samples, stats_max = facts.samples, facts.max_usage_bytes
        elif facts.samples and not cgroup_samples:
            cgroup_samples = facts.samples
    metric_errors: list[tuple[str, str, str]] = []
    rec.file_metrics_json = read_metric_files(art.trial_dir, art.files.get("metrics"), metric_errors)
    parsed.errors.extend((display(p), e, h) for p, e, h in metric_errors)
    _derive(parsed, study_option)
    _samples(parsed, stats_samples, stats_max, cgroup_samples)
    return parsed


def _derive(parsed: ParsedTrial, study_option: str | None) -> None:
    """Facts that come from the layout, the path, or other facts."""
    art, rec = parsed.art, parsed.rec
    trial_path = Path(art.trial_dir)
    if art.layout == "noodle2":
        study_dir = study_dir_of(art)
        rec.put("study", display(Path(study_dir).name))
        rec.put("case_name", display(trial_path.parents[1].name))
        rec.put("stage_index", _index(trial_path.parent.name))
        rec.put("trial_index", _index(trial_path.name))
        rel = os.path.relpath(art.trial_dir, study_dir)
    else:
        rec.put("study", study_option)
        rec.put("study", display(Path(art.root).name))
        rel = _generic_rel(art, rec.study or "")
    parsed.readable_id = f"{rec.study}/{display(rel)}"
    if rec.exit_code is None:
        rec.exit_code_source = None
    if rec.eco_class:
        rec.eco_class_source = "trial"
    elif rec.eco_name:
        rec.eco_class = default_eco_classes().get(rec.eco_name)
        rec.eco_class_source = "eco_name" if rec.eco_class else None
    if rec.runtime_seconds is None and rec.started_at and rec.finished_at:
        runtime = (rec.finished_at - rec.started_at).total_seconds()
        problems = rec.update({"runtime_seconds": runtime})
        parsed.errors.extend((display(art.trial_dir), p, "the runtime was left unknown") for p in problems)


def _plausible_bytes(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) and 0 <= value <= _MAX_BYTES else None


def _samples(parsed: ParsedTrial, stats: list[MemorySample], stats_max: float | None,
             cgroup: list[MemorySample]) -> None:
    """Memory samples of docker stats (this trial's container only) and cgroup; the stats peak."""
    rec = parsed.rec
    cid = (rec.container_id or "")[:12]
    if cid and len({s.container for s in stats}) > 1:
        mine = [s for s in stats if s.container and (s.container[:12] == cid or s.container == rec.container_id)]
        stats = mine or stats
    dropped = 0
    rows: list[dict[str, Any]] = []
    for s in stats + cgroup:
        usage, limit = _plausible_bytes(s.usage_bytes), _plausible_bytes(s.limit_bytes)
        dropped += (usage is None) != (s.usage_bytes is None)
        dropped += (limit is None) != (s.limit_bytes is None)
        if s.source == "cgroup":
            limit = rec.limit_cgroup_mb * MIB if rec.limit_cgroup_mb else None
        rows.append({"trial_id": None, "sample_index": len(rows) if s.source == "cgroup" else s.sample_index,
                     "sampled_at": s.sampled_at, "usage_bytes": usage, "limit_bytes": limit,
                     "source": s.source, "container": display(s.container) if s.container else None})
    if dropped:
        parsed.errors.append((display(parsed.art.files.get("stats", parsed.art.trial_dir)),
                              f"{dropped} memory sample value(s) were NaN, infinite, negative or absurd",
                              "those values were dropped; the samples were kept"))
    parsed.samples = [r for r in rows if -(1 << 31) <= r["sample_index"] < (1 << 31)]
    usages = [r["usage_bytes"] for r in rows if r["source"] != "cgroup" and r["usage_bytes"] is not None]
    peak = max([*usages, _plausible_bytes(stats_max) or 0.0]) if usages or _plausible_bytes(stats_max) else None
    if peak:
        rec.put("peak_stats_mb", peak / MIB)


def _generic_rel(art: TrialArtifacts, study: str) -> str:
    """Path of a generic trial relative to the root, or to the study's own folder below it."""
    rel = Path(os.path.relpath(art.trial_dir, art.root))
    if rel == Path("."):
        return Path(art.trial_dir).name
    parts = rel.parts
    if study in parts[:-1]:
        parts = parts[len(parts) - parts[::-1].index(study):]
    return "/".join(parts)


def _index(name: str) -> int | None:
    m = re.search(r"(\d{1,9})$", name)
    return int(m.group(1)) if m else None
