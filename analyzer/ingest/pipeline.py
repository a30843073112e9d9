"""`analyzer ingest`: discover -> parse (one reader per format) -> write whole trials."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import polars as pl

from ..eco import default_eco_classes
from ..logstore import write_stored_logs
from ..store import Store
from ..units import MIB, parse_time
from . import ParseError
from .cgroup import CgroupFacts, read_cgroup_file
from .config import load_mapping, memory_limit_mb, study_config_facts
from .discover import (StudyFile, TrialArtifacts, discover, files_fingerprint, fingerprint,
                       study_dir_of)
from .docker_inspect import parse_docker_inspect, salvage_docker_inspect
from .docker_stats import PartialStats, parse_docker_stats
from .gnu_time import parse_gnu_time
from .logs import LogFile, file_size, scan_logs
from .noodle2 import (event_rows, load_json, study_summary_facts, study_summary_trials,
                      telemetry_facts, trial_summary_facts)

TRIAL_TABLES = ("trial_facts", "log_lines", "memory_sample_rows", "ingest_error_rows",
                "verdict_rows", "failure_rows", "evidence_rows")
BATCH_TRIALS = 2000
BATCH_LOG_BYTES = 128 << 20  # per transaction: its kept lines and compressed logs are held until written
MAX_SMALL_FILE = 64 << 20  # JSON / config / cgroup files larger than this are refused

TRIAL_COLUMNS: dict[str, pl.DataType] = {
    "trial_id": pl.String, "study": pl.String, "root": pl.String, "case_name": pl.String,
    "stage_index": pl.Int32, "trial_index": pl.Int32, "trial_dir": pl.String, "layout": pl.String,
    "crashed_before_dir": pl.Boolean, "eco_name": pl.String, "eco_class": pl.String,
    "eco_class_source": pl.String, "eco_parameters": pl.String, "exit_code": pl.Int32,
    "exit_code_source": pl.String, "timed_out": pl.Boolean, "oom_killed": pl.Boolean,
    "oom_kill_events": pl.Int64, "oom_events": pl.Int64, "started_at": pl.Datetime("us"),
    "finished_at": pl.Datetime("us"), "runtime_seconds": pl.Float64, "container_id": pl.String,
    "command": pl.String, "image": pl.String, "timeout_seconds": pl.Float64,
    "peak_cgroup_mb": pl.Float64, "peak_stats_mb": pl.Float64, "peak_summary_mb": pl.Float64,
    "peak_time_mb": pl.Float64, "peak_orfs_mb": pl.Float64, "limit_inspect_mb": pl.Float64,
    "limit_inspect_unlimited": pl.Boolean, "limit_cgroup_mb": pl.Float64,
    "limit_config_mb": pl.Float64, "limit_noodle2_mb": pl.Float64, "limit_default_mb": pl.Float64,
    "stdout_bytes": pl.Int64, "stderr_bytes": pl.Int64, "invalid_utf8_bytes": pl.Int64,
    "source_failure_type": pl.String, "source_failure_severity": pl.String,
    "source_failure_reason": pl.String, "metrics_json": pl.String, "fingerprint": pl.String,
    "ingested_at": pl.Datetime("us"),
}
SAMPLE_COLUMNS = {"trial_id": pl.String, "sample_index": pl.Int32, "sampled_at": pl.Datetime("us"),
                  "usage_bytes": pl.Float64, "limit_bytes": pl.Float64, "source": pl.String,
                  "container": pl.String}
ERROR_COLUMNS = {"ingested_at": pl.Datetime("us"), "root": pl.String, "study": pl.String,
                 "trial_id": pl.String, "path": pl.String, "error": pl.String, "hint": pl.String}

_ORFS_PEAK = r"Peak memory: (\d+)KB"
_TIME_PEAK = r"Maximum resident set size \(kbytes\): (\d+)"


@dataclass
class IngestOptions:
    study: str | None = None
    config: str | None = None
    default_memory_limit: str | None = None
    progress: bool = False


@dataclass
class IngestReport:
    trials_found: int = 0
    trials_parsed: int = 0
    trials_skipped: int = 0
    crashed_before_dir: int = 0
    studies: set[str] = field(default_factory=set)
    new_trial_ids: list[str] = field(default_factory=list)
    errors: int = 0
    log_bytes: int = 0


Warn = Callable[[str], None]


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def _read_text(path: str) -> str:
    size = os.stat(path).st_size
    if size > MAX_SMALL_FILE:
        raise ParseError(f"{size} bytes is too large for this kind of file", "the file was skipped")
    with open(path, "rb") as fh:
        data = fh.read()
    if b"\x00" in data:
        raise ParseError("binary data (NUL bytes) in a text artifact")
    return data.decode("utf-8", "replace")


class _TrialParse:
    """Everything one trial's structured files say; logs are scanned per batch."""

    def __init__(self, art: TrialArtifacts, opts: IngestOptions, default_limit_mb: float | None,
                 stamp: datetime) -> None:
        self.art = art
        self.rec: dict[str, Any] = {k: None for k in TRIAL_COLUMNS}
        self.samples: list[dict[str, Any]] = []
        self.errors: list[tuple[str, str, str]] = []
        self.rec.update(trial_dir=art.trial_dir, layout=art.layout, root=art.root,
                        fingerprint=art.fingerprint, ingested_at=stamp, crashed_before_dir=False,
                        limit_default_mb=default_limit_mb)
        self._parse(opts)

    def _read(self, role_path: str, reader: Callable[[str], Any]) -> Any:
        try:
            return reader(_read_text(role_path))
        except ParseError as exc:
            self.errors.append((role_path, exc.problem, exc.hint))
        except OSError as exc:
            self.errors.append((role_path, f"cannot read: {exc.strerror or exc}",
                                "the trial was ingested without it"))
        return None

    def _parse(self, opts: IngestOptions) -> None:
        art, rec, files = self.art, self.rec, self.art.files
        trial_path = Path(art.trial_dir)
        if art.layout == "noodle2":
            study_dir = study_dir_of(art)
            summary = self._read(files["summary"], lambda t: trial_summary_facts(load_json(t)))
            if summary:
                rec.update({k: v for k, v in summary.items() if v is not None})
            rec["study"] = rec["study"] or Path(study_dir).name
            rec["case_name"] = rec["case_name"] or trial_path.parents[1].name
            rec["stage_index"] = rec["stage_index"] if rec["stage_index"] is not None else _index(trial_path.parent.name)
            rec["trial_index"] = rec["trial_index"] if rec["trial_index"] is not None else _index(trial_path.name)
            rec["exit_code_source"] = "trial_summary" if rec["exit_code"] is not None else None
            rec["trial_id"] = f"{rec['study']}/{os.path.relpath(art.trial_dir, study_dir)}"
        else:
            config = self._read(files["config"], lambda t: load_mapping(Path(files["config"]), t)) \
                if "config" in files else None
            config = config or {}
            exit_path = files["exit"]
            code = self._read(exit_path, _exit_code)
            if code is not None:
                rec.update(exit_code=code, exit_code_source=Path(exit_path).name)
            rec["study"] = config.get("study") or opts.study or Path(art.root).name
            rec["trial_id"] = f"{rec['study']}/{_generic_rel(art, rec['study'])}"
            rec["case_name"] = _str(config.get("case"))
            rec["stage_index"] = _int_or_none(config.get("stage"))
            rec["trial_index"] = _int_or_none(config.get("trial"))
            rec["eco_name"] = _str(config.get("eco_name") or config.get("eco_type"))
            rec["eco_class"] = _str(config.get("eco_class"))
            rec["started_at"] = parse_time(config.get("started_at"))
            rec["finished_at"] = parse_time(config.get("finished_at"))
            rec["command"] = _str(config.get("command"))
            rec["image"] = _str(config.get("image"))
            timeout = config.get("timeout_seconds")
            rec["timeout_seconds"] = float(timeout) if isinstance(timeout, (int, float)) else None
            if config.get("memory_limit") is not None:
                try:
                    rec["limit_config_mb"] = memory_limit_mb(config["memory_limit"], "memory_limit")
                except ParseError as exc:
                    self.errors.append((files["config"], exc.problem, exc.hint))
        self._inspect()
        self._stats()
        self._cgroup()
        self._time()
        if rec["eco_class"]:
            rec["eco_class_source"] = "trial"
        elif rec["eco_name"]:
            rec["eco_class"] = default_eco_classes().get(rec["eco_name"])
            rec["eco_class_source"] = "eco_name" if rec["eco_class"] else None
        if rec["runtime_seconds"] is None and rec["started_at"] and rec["finished_at"]:
            rec["runtime_seconds"] = (rec["finished_at"] - rec["started_at"]).total_seconds()

    def _inspect(self) -> None:
        path = self.art.files.get("inspect")
        if not path:
            return
        rec = self.rec
        try:
            text = _read_text(path)
        except (OSError, ParseError) as exc:
            self.errors.append((path, getattr(exc, "problem", None) or f"cannot read: {exc}",
                                "the trial was ingested without it"))
            return
        try:
            facts = parse_docker_inspect(text)
        except ParseError as exc:
            facts = salvage_docker_inspect(text)
            hint = ("OOMKilled / ExitCode / Memory were recovered by pattern; the rest was dropped"
                    if facts else "the trial was ingested without it")
            self.errors.append((path, exc.problem, hint))
            if facts is None:
                return
        rec["oom_killed"] = facts.oom_killed
        if rec["exit_code"] is None and facts.exit_code is not None:
            rec.update(exit_code=facts.exit_code, exit_code_source="docker_inspect")
        rec["started_at"] = rec["started_at"] or facts.started_at
        rec["finished_at"] = rec["finished_at"] or facts.finished_at
        rec["limit_inspect_mb"] = facts.memory_limit_mb
        rec["limit_inspect_unlimited"] = facts.memory_unlimited
        rec["container_id"] = rec["container_id"] or facts.container_id or facts.name
        rec["command"] = rec["command"] or facts.command
        rec["image"] = rec["image"] or facts.image

    def _stats(self) -> None:
        path = self.art.files.get("stats")
        if not path:
            return
        try:
            result = parse_docker_stats(_read_text(path))
        except PartialStats as exc:
            self.errors.append((path, exc.problem, exc.hint))
            result = exc.result
        except ParseError as exc:
            self.errors.append((path, exc.problem, exc.hint))
            return
        except OSError as exc:
            self.errors.append((path, f"cannot read: {exc.strerror or exc}", "no memory samples were taken"))
            return
        samples = result.samples
        cid = (self.rec["container_id"] or "")[:12]
        if cid and len({s.container for s in samples}) > 1:
            mine = [s for s in samples if s.container and (s.container[:12] == cid or s.container == self.rec["container_id"])]
            samples = mine or samples
        usages = [s.usage_bytes for s in samples if s.usage_bytes is not None]
        peak = max([*usages, result.max_usage_bytes or 0.0]) if usages or result.max_usage_bytes else None
        self.rec["peak_stats_mb"] = peak / MIB if peak else None
        if result.oom_events is not None:
            self.rec["oom_events"] = result.oom_events
        self.samples.extend({
            "trial_id": None, "sample_index": s.sample_index, "sampled_at": s.sampled_at,
            "usage_bytes": s.usage_bytes, "limit_bytes": s.limit_bytes, "source": s.source,
            "container": s.container} for s in samples)

    def _cgroup(self) -> None:
        if not self.art.cgroup:
            return
        facts = CgroupFacts()
        for name, path in sorted(self.art.cgroup.items()):
            try:
                read_cgroup_file(facts, name, _read_text(path))
            except ParseError as exc:
                self.errors.append((path, exc.problem, "the value was treated as unknown"))
            except OSError as exc:
                self.errors.append((path, f"cannot read: {exc.strerror or exc}", "the value was treated as unknown"))
        rec = self.rec
        rec["peak_cgroup_mb"] = facts.peak_mb
        rec["limit_cgroup_mb"] = facts.limit_mb
        rec["oom_kill_events"] = facts.oom_kill
        if facts.oom is not None:
            rec["oom_events"] = facts.oom
        if facts.current_bytes is not None:
            self.samples.append({"trial_id": None, "sample_index": len(self.samples), "sampled_at": None,
                                 "usage_bytes": facts.current_bytes,
                                 "limit_bytes": facts.limit_mb * MIB if facts.limit_mb else None,
                                 "source": "cgroup", "container": None})

    def _time(self) -> None:
        path = self.art.files.get("time")
        if not path:
            return
        facts = self._read(path, parse_gnu_time)
        if facts is None:
            return
        if facts.max_rss_kb:
            self.rec["peak_time_mb"] = facts.max_rss_kb / 1024
        if self.rec["runtime_seconds"] is None:
            self.rec["runtime_seconds"] = facts.elapsed_seconds

    def log_files(self) -> list[tuple[str, str]]:
        return [(stream, self.art.files[stream]) for stream in ("stdout", "stderr", "kernel", "time")
                if stream in self.art.files]


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
    m = re.search(r"(\d+)$", name)
    return int(m.group(1)) if m else None


def _str(value: Any) -> str | None:
    return str(value) if value is not None and value != "" else None


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _exit_code(text: str) -> int:
    value = text.strip()
    if not value:
        raise ParseError("empty exit code file", "the exit code was recorded as unknown")
    try:
        return int(value)
    except ValueError as exc:
        raise ParseError(f"exit code file holds {value[:40]!r}, not one integer",
                         "the exit code was recorded as unknown") from exc


def _batches(items: list[TrialArtifacts]) -> Iterable[list[TrialArtifacts]]:
    batch: list[TrialArtifacts] = []
    nbytes = 0
    for art in items:
        batch.append(art)
        nbytes += sum(file_size(art.files[s]) or 0 for s in ("stdout", "stderr") if s in art.files)
        if len(batch) >= BATCH_TRIALS or nbytes >= BATCH_LOG_BYTES:
            yield batch
            batch, nbytes = [], 0
    if batch:
        yield batch


def _log_peaks(lines: pl.DataFrame) -> pl.DataFrame:
    """Peaks the logs print: ORFS per-step `Peak memory: NKB` and GNU time's max RSS."""
    return lines.group_by("key").agg(
        (pl.col("text").str.extract(_ORFS_PEAK).cast(pl.Float64).max() / 1024).alias("log_orfs_mb"),
        (pl.col("text").str.extract(_TIME_PEAK).cast(pl.Float64).max() / 1024).alias("log_time_mb"),
    )


def _write_batch(store: Store, parses: list[_TrialParse], warn: Warn, report: IngestReport) -> None:
    logs: list[LogFile] = []
    for key, parse in enumerate(parses):
        logs.extend(LogFile(key, stream, path) for stream, path in parse.log_files())
    scan = scan_logs(logs)
    for log, st in zip(logs, scan.stats):
        rec = parses[log.key].rec
        if st.error:
            parses[log.key].errors.append((log.path, f"cannot read: {st.error}", "the trial was ingested without this log"))
            continue
        if log.stream in ("stdout", "stderr"):
            rec[f"{log.stream}_bytes"] = st.size_bytes
            report.log_bytes += st.size_bytes
        if st.invalid_utf8_bytes:
            rec["invalid_utf8_bytes"] = (rec["invalid_utf8_bytes"] or 0) + st.invalid_utf8_bytes
    keys = pl.DataFrame({"key": range(len(parses)), "trial_id": [p.rec["trial_id"] for p in parses]},
                        schema={"key": pl.Int64, "trial_id": pl.String})
    trials = pl.DataFrame([p.rec for p in parses], schema=TRIAL_COLUMNS).with_row_index("key")
    trials = (
        trials.with_columns(pl.col("key").cast(pl.Int64))
        .join(_log_peaks(scan.lines), on="key", how="left")
        .with_columns(
            pl.col("peak_orfs_mb").fill_null(pl.col("log_orfs_mb")),
            pl.col("peak_time_mb").fill_null(pl.col("log_time_mb")),
        )
        .select(list(TRIAL_COLUMNS))
    )
    lines = scan.lines.join(keys, on="key").select("trial_id", "stream", "line_no", "text", "is_tail")
    samples = pl.DataFrame(
        [{**s, "trial_id": p.rec["trial_id"]} for p in parses for s in p.samples], schema=SAMPLE_COLUMNS)
    errors = pl.DataFrame(
        [{"ingested_at": p.rec["ingested_at"], "root": p.art.root, "study": p.rec["study"],
          "trial_id": p.rec["trial_id"], "path": path, "error": error, "hint": hint}
         for p in parses for path, error, hint in p.errors], schema=ERROR_COLUMNS)
    ids = trials["trial_id"]
    if ids.n_unique() != ids.len():
        dupes = ids.filter(ids.is_duplicated()).unique().to_list()
        raise ParseError(f"two trial directories give the same trial id: {dupes[:3]}")
    with store.transaction():
        store.delete_trials(TRIAL_TABLES, ids)
        store.insert("trial_facts", trials)
        store.insert("log_lines", lines)
        write_stored_logs(store, ids, logs, scan, keys)  # whole logs, compressed (logstore.py)
        store.insert("memory_sample_rows", samples)
        store.insert("ingest_error_rows", errors)
    for row in errors.iter_rows(named=True):
        warn(f"{row['path']}: {row['error']}; {row['hint']}")
    report.errors += errors.height
    report.trials_parsed += len(parses)
    report.new_trial_ids.extend(ids.to_list())
    report.studies.update(trials["study"].drop_nulls().to_list())


def _study_key(sf: StudyFile) -> str:
    path = Path(sf.path)
    if sf.kind == "stage_summary":
        return path.parents[2].name  # output/<study>/stages/stage_<i>/stage_summary.json
    return path.parent.name


@dataclass
class _StudyParse:
    name: str
    files: list[StudyFile]
    facts: dict[str, Any] = field(default_factory=dict)
    summary_trials: list[dict[str, Any]] | None = None
    summary_dir: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    errors: list[tuple[str, str, str]] = field(default_factory=list)


def _parse_study(name: str, files: list[StudyFile]) -> _StudyParse:
    sp = _StudyParse(name, files)

    def read(sf: StudyFile) -> Any:
        try:
            return load_json(_read_text(sf.path))
        except ParseError as exc:
            sp.errors.append((sf.path, exc.problem, "the study was ingested without it"))
        except OSError as exc:
            sp.errors.append((sf.path, f"cannot read: {exc.strerror or exc}", "the study was ingested without it"))
        return None

    for sf in files:
        try:
            if sf.kind == "study_summary":
                doc = read(sf)
                if doc is not None:
                    sp.summary_trials = study_summary_trials(doc)
                    sp.summary_dir = str(Path(sf.path).parent)
                    sp.facts.update({k: v for k, v in study_summary_facts(doc).items() if v is not None})
                    sp.facts["summary_json"] = None
            elif sf.kind == "study_telemetry":
                doc = read(sf)
                if doc is not None:
                    sp.facts.update({k: v for k, v in telemetry_facts(doc).items() if v is not None and k != "study"})
            elif sf.kind == "event_stream":
                rows, bad = event_rows(name, _read_text(sf.path))
                sp.events.extend(rows)
                if bad:
                    sp.errors.append((sf.path, f"{bad} line(s) are not valid JSON", "the other events were kept"))
            elif sf.kind in ("stage_telemetry", "stage_summary"):
                doc = read(sf)
                if isinstance(doc, dict):
                    sp.events.append({
                        "study": name, "event_type": sf.kind, "event_at": None,
                        "stage_index": doc.get("stage_index") if isinstance(doc.get("stage_index"), int) else None,
                        "case_name": None, "trial_index": None,
                        "event_data": json.dumps(doc, sort_keys=True)})
        except ParseError as exc:
            sp.errors.append((sf.path, exc.problem, exc.hint))
        except OSError as exc:
            sp.errors.append((sf.path, f"cannot read: {exc.strerror or exc}", "the study was ingested without it"))
    return sp


def _study_configs(files: list[StudyFile], explicit: str | None,
                   root_errors: list[tuple[str, str, str, str]]) -> dict[str | None, dict[str, Any]]:
    """Study YAML found beside studies (top-level `study:`), plus `--config`; keyed by study name."""
    configs: dict[str | None, dict[str, Any]] = {}
    candidates = [(sf.root, sf.path, False) for sf in files if sf.kind == "yaml"]
    if explicit:
        candidates.append((os.path.abspath(explicit), os.path.abspath(explicit), True))
    for root, path, is_explicit in candidates:
        try:
            doc = load_mapping(Path(path), _read_text(path))
            if not is_explicit and not isinstance(doc.get("study"), dict):
                continue
            facts = study_config_facts(doc, path)
            facts["path"] = path
            configs[facts["name"] if facts["name"] or not is_explicit else None] = facts
        except (ParseError, OSError) as exc:
            if is_explicit or path.endswith((".yaml", ".yml")) and "study" in _peek(path):
                problem = getattr(exc, "problem", None) or f"cannot read: {exc}"
                root_errors.append((root, path, problem, "the study config was not used"))
    return configs


def _peek(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            return fh.read(4096).decode("utf-8", "replace")
    except OSError:
        return ""


def ingest(store: Store, roots: list[str], opts: IngestOptions, warn: Warn) -> IngestReport:
    """Ingest every trial under `roots` into `store`; see spec/artifacts.md for the guarantees."""
    report = IngestReport()
    stamp = _now()
    default_limit_mb = memory_limit_mb(opts.default_memory_limit, "--default-memory-limit") \
        if opts.default_memory_limit else None
    found = discover(roots)
    root_errors = list(found.errors)
    options_key = f"study={opts.study}\0default={default_limit_mb}"
    for art in found.trials:
        art.fingerprint = fingerprint(art, options_key)
    report.trials_found = len(found.trials)

    known = store.frame("SELECT trial_dir, fingerprint FROM trial_facts WHERE NOT crashed_before_dir")
    known_map = dict(zip(known["trial_dir"].to_list(), known["fingerprint"].to_list()))
    todo = [a for a in found.trials if known_map.get(a.trial_dir) != a.fingerprint]
    report.trials_skipped = len(found.trials) - len(todo)

    progress = _Progress(len(todo), opts.progress)
    for batch in _batches(todo):
        parses = [_TrialParse(art, opts, default_limit_mb, stamp) for art in batch]
        _write_batch(store, parses, warn, report)
        progress.advance(len(batch))
    progress.done()

    _ingest_studies(store, found.study_files, opts, stamp, root_errors, warn, report)
    _record_root_errors(store, roots, root_errors, stamp, warn, report)
    return report


def _ingest_studies(store: Store, study_files: list[StudyFile], opts: IngestOptions, stamp: datetime,
                    root_errors: list[tuple[str, str, str, str]], warn: Warn, report: IngestReport) -> None:
    configs = _study_configs(study_files, opts.config, root_errors)
    by_study: dict[str, list[StudyFile]] = {}
    for sf in study_files:
        if sf.kind != "yaml":
            by_study.setdefault(_study_key(sf), []).append(sf)
    known = store.frame("SELECT study, fingerprint FROM study_facts")
    known_map = dict(zip(known["study"].to_list(), known["fingerprint"].to_list()))
    for name, files in sorted(by_study.items()):
        config = configs.get(name) or configs.get(None) or {}
        fp = files_fingerprint([f.path for f in files] + ([config["path"]] if config else []))
        if known_map.get(name) == fp:
            continue
        sp = _parse_study(name, files)
        root = sp.summary_dir or str(Path(files[0].path).parent)
        crashed = _crashed_trials(store, sp, fp, stamp)
        facts = {"study": name, "root": root, "layout": "noodle2", "fingerprint": fp, "ingested_at": stamp,
                 "safety_domain": sp.facts.get("safety_domain"), "aborted": sp.facts.get("aborted"),
                 "abort_reason": sp.facts.get("abort_reason"),
                 "telemetry_started_at": sp.facts.get("telemetry_started_at"),
                 "telemetry_finished_at": sp.facts.get("telemetry_finished_at"),
                 "config_path": config.get("path"), "config_memory_limit_mb": config.get("memory_limit_mb"),
                 "config_timeout_seconds": config.get("timeout_seconds"), "summary_json": None}
        errors = pl.DataFrame([{"ingested_at": stamp, "root": root, "study": name, "trial_id": None,
                                "path": p, "error": e, "hint": h} for p, e, h in sp.errors], schema=ERROR_COLUMNS)
        with store.transaction():
            store.execute("DELETE FROM study_facts WHERE study = ?", [name])
            store.execute("DELETE FROM study_events WHERE study = ?", [name])
            store.execute("DELETE FROM ingest_error_rows WHERE study = ? AND trial_id IS NULL AND root = ?",
                          [name, root])
            store.insert("study_facts", pl.DataFrame([facts]).cast({"ingested_at": pl.Datetime("us")}, strict=False))
            store.insert("study_events", pl.DataFrame(sp.events, schema={
                "study": pl.String, "event_type": pl.String, "event_at": pl.Datetime("us"),
                "stage_index": pl.Int32, "case_name": pl.String, "trial_index": pl.Int32,
                "event_data": pl.String}))
            if crashed is not None:
                store.execute("DELETE FROM trial_facts WHERE study = ? AND crashed_before_dir", [name])
                store.insert("trial_facts", crashed)
            store.insert("ingest_error_rows", errors)
        report.errors += errors.height
        report.studies.add(name)
        if crashed is not None:
            report.crashed_before_dir += crashed.height
            report.new_trial_ids.extend(crashed["trial_id"].to_list())
        for p, e, h in sp.errors:
            warn(f"{p}: {e}; {h}")
    # studies that only trials name (generic layout, or Noodle 2 without study files)
    store.execute("""
        INSERT INTO study_facts (study, root, layout, fingerprint, ingested_at)
        SELECT study, min(root), min(layout), '', min(ingested_at) FROM trial_facts
        WHERE study NOT IN (SELECT study FROM study_facts) GROUP BY study""")


def _crashed_trials(store: Store, sp: _StudyParse, fp: str, stamp: datetime) -> pl.DataFrame | None:
    """Trials that `study_summary.json` lists but that never wrote their own directory."""
    if sp.summary_trials is None or sp.summary_dir is None:
        return None
    existing = set(store.frame("SELECT trial_dir FROM trial_facts WHERE NOT crashed_before_dir")["trial_dir"].to_list())
    rows = []
    for entry in sp.summary_trials:
        facts = trial_summary_facts(entry)
        if facts["case_name"] is None or facts["stage_index"] is None or facts["trial_index"] is None:
            continue
        rel = f"{facts['case_name']}/stage_{facts['stage_index']}/trial_{facts['trial_index']}"
        trial_dir = os.path.join(sp.summary_dir, rel)
        if trial_dir in existing or os.path.isfile(os.path.join(trial_dir, "trial_summary.json")):
            continue
        rec = {k: None for k in TRIAL_COLUMNS}
        rec.update({k: v for k, v in facts.items() if v is not None})
        study = facts["study"] or sp.name
        eco_class = rec["eco_class"] or default_eco_classes().get(rec["eco_name"] or "")
        rec.update(trial_id=f"{study}/{rel}", study=study, root=sp.summary_dir, trial_dir=trial_dir,
                   layout="noodle2", crashed_before_dir=True, fingerprint=fp, ingested_at=stamp,
                   exit_code_source="study_summary" if rec["exit_code"] is not None else None,
                   eco_class=eco_class,
                   eco_class_source=("trial" if rec["eco_class"] else "eco_name") if eco_class else None)
        rows.append(rec)
    return pl.DataFrame(rows, schema=TRIAL_COLUMNS)


def _record_root_errors(store: Store, roots: list[str], errors: list[tuple[str, str, str, str]],
                        stamp: datetime, warn: Warn, report: IngestReport) -> None:
    """Errors that belong to no trial: kept once per (path, error), replaced per root."""
    frame = pl.DataFrame([{"ingested_at": stamp, "root": r, "study": None, "trial_id": None, "path": p,
                           "error": e, "hint": h} for r, p, e, h in errors], schema=ERROR_COLUMNS)
    with store.transaction():
        store.con.register("_new_errors", frame)
        try:
            for root in {os.path.abspath(r) for r in roots}:
                store.execute("""
                    DELETE FROM ingest_error_rows e WHERE e.root = ? AND e.study IS NULL AND e.trial_id IS NULL
                    AND NOT EXISTS (SELECT 1 FROM _new_errors n WHERE n.path = e.path AND n.error = e.error)""",
                              [root])
            store.execute("""
                INSERT INTO ingest_error_rows SELECT * FROM _new_errors n WHERE NOT EXISTS (
                    SELECT 1 FROM ingest_error_rows e WHERE e.trial_id IS NULL AND e.study IS NULL
                    AND e.path = n.path AND e.error = n.error)""")
        finally:
            store.con.unregister("_new_errors")
    for _, p, e, h in errors:
        warn(f"{p}: {e}; {h}")
    report.errors += len(errors)


class _Progress:
    """A progress line on stderr, only when asked for (a terminal and not --quiet)."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done_count, self.enabled = total, 0, enabled and total > 0

    def advance(self, n: int) -> None:
        if self.enabled:
            import sys
            self.done_count += n
            sys.stderr.write(f"\ringest: {self.done_count}/{self.total} trials")
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            import sys
            sys.stderr.write("\n")
