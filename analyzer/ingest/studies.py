"""Study-level files (Noodle 2 summaries, telemetry, event stream, study YAML) -> study rows.

Values are checked like trial values (record.coerce): a bad one is dropped and recorded.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ..eco import default_eco_classes
from ..store import Store
from . import ParseError
from .config import load_mapping, study_config_facts
from .discover import StudyFile, files_fingerprint
from .ids import TrialIds
from .noodle2 import (
    dumps_json,
    event_rows,
    load_json,
    study_summary_facts,
    study_summary_trials,
    telemetry_facts,
    trial_summary_facts,
)
from .record import BadValue, TrialRecord, coerce, frame
from .safe_io import display, open_regular, read_text

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

ERROR_COLUMNS: dict[str, PolarsDataType] = {"ingested_at": pl.Datetime("us"), "root": pl.String, "study": pl.String,
                 "trial_id": pl.String, "path": pl.String, "error": pl.String, "hint": pl.String}
STUDY_KINDS = {"study": "str", "root": "str", "layout": "str", "fingerprint": "str", "ingested_at": "time",
               "safety_domain": "str", "aborted": "bool", "abort_reason": "str",
               "telemetry_started_at": "time", "telemetry_finished_at": "time", "config_path": "str",
               "config_memory_limit_mb": "limit_mb", "config_timeout_seconds": "seconds", "summary_json": "str"}
STUDY_SCHEMA: dict[str, PolarsDataType] = {"study": pl.String, "root": pl.String, "layout": pl.String, "fingerprint": pl.String,
                "ingested_at": pl.Datetime("us"), "safety_domain": pl.String, "aborted": pl.Boolean,
                "abort_reason": pl.String, "telemetry_started_at": pl.Datetime("us"),
                "telemetry_finished_at": pl.Datetime("us"), "config_path": pl.String,
                "config_memory_limit_mb": pl.Float64, "config_timeout_seconds": pl.Float64,
                "summary_json": pl.String}
EVENT_KINDS = {"study": "str", "event_type": "str", "event_at": "time", "stage_index": "int32",
               "case_name": "str", "trial_index": "int32", "event_data": "str"}
EVENT_SCHEMA: dict[str, PolarsDataType] = {"study": pl.String, "event_type": pl.String, "event_at": pl.Datetime("us"),
                "stage_index": pl.Int32, "case_name": pl.String, "trial_index": pl.Int32,
                "event_data": pl.String}
Warn = Callable[[str], None]


def checked(kinds: dict[str, str], values: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """Every value coerced to its kind; a bad one becomes None and a problem."""
    out = {}
    for name, kind in kinds.items():
        try:
            out[name] = coerce(kind, values.get(name), name)
        except BadValue as exc:
            problems.append(exc.problem)
            out[name] = None
    return out


def study_key(sf: StudyFile) -> tuple[str, str]:
    """(study name, ingest root): files of one study may sit in several folders of a root
    (telemetry beside artifacts), and two roots (night1/, night2/) may hold studies of one name."""
    path = Path(sf.path)
    folder = path.parents[2] if sf.kind == "stage_summary" else path.parent  # <study>/stages/stage_<i>/
    return display(folder.name), sf.root


@dataclass
class StudyParse:
    name: str
    files: list[StudyFile]
    facts: dict[str, Any] = field(default_factory=dict)
    summary_trials: list[dict[str, Any]] | None = None
    summary_dir: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    errors: list[tuple[str, str, str]] = field(default_factory=list)


def parse_study(name: str, files: list[StudyFile]) -> StudyParse:
    sp = StudyParse(name, files)
    hint = "the study was ingested without it"
    for sf in files:
        try:
            text = read_text(sf.path)
            if sf.kind == "study_summary":
                doc = load_json(text)
                sp.summary_trials = study_summary_trials(doc)
                sp.summary_dir = str(Path(sf.path).parent)
                sp.facts.update({k: v for k, v in study_summary_facts(doc).items() if v is not None})
            elif sf.kind == "study_telemetry":
                sp.facts.update({k: v for k, v in telemetry_facts(load_json(text)).items()
                                 if v is not None and k != "study"})
            elif sf.kind == "event_stream":
                rows, bad = event_rows(name, text)
                sp.events.extend(rows)
                if bad:
                    sp.errors.append((sf.path, f"{bad} line(s) are not valid JSON", "the other events were kept"))
            elif sf.kind in ("stage_telemetry", "stage_summary"):
                doc = load_json(text)
                if isinstance(doc, dict):
                    sp.events.append({"study": name, "event_type": sf.kind, "event_at": None,
                                      "stage_index": doc.get("stage_index"), "case_name": None,
                                      "trial_index": None, "event_data": dumps_json(doc)})
        except ParseError as exc:
            sp.errors.append((sf.path, exc.problem, exc.hint if exc.hint != "the trial was ingested without it" else hint))
        except OSError as exc:
            sp.errors.append((sf.path, f"cannot read: {exc.strerror or exc}", hint))
        except (RecursionError, TypeError, ValueError, AttributeError) as exc:
            sp.errors.append((sf.path, f"unexpected {type(exc).__name__}: {exc}"[:300], hint))
    return sp


def study_configs(files: list[StudyFile], explicit: str | None,
                  root_errors: list[tuple[str, str, str, str]]) -> dict[str | None, dict[str, Any]]:
    """Study YAML found beside studies (top-level `study:`), plus `--config`; keyed by study name."""
    configs: dict[str | None, dict[str, Any]] = {}
    candidates = [(sf.root, sf.path, False) for sf in files if sf.kind == "yaml"]
    if explicit:
        candidates.append((os.path.abspath(explicit), os.path.abspath(explicit), True))
    for root, path, is_explicit in candidates:
        try:
            text = read_text(path)
            doc = load_mapping(Path(path), text)
            if not is_explicit and not isinstance(doc.get("study"), dict):
                continue
            facts = study_config_facts(doc, path)
            facts["path"] = path
            configs[facts["name"] if facts["name"] or not is_explicit else None] = facts
        except (ParseError, OSError) as exc:
            if is_explicit or (path.endswith((".yaml", ".yml")) and "study" in _peek(path)):
                problem = getattr(exc, "problem", None) or f"cannot read: {exc}"
                root_errors.append((root, display(path), problem, "the study config was not used"))
    return configs


def _peek(path: str) -> str:
    try:
        with open_regular(path) as fh:
            return fh.read(4096).decode("utf-8", "replace")
    except (OSError, ParseError):
        return ""


def crashed_trials(sp: StudyParse, fp: str, stamp: datetime, ids: TrialIds,
                   existing_dirs: set[str]) -> tuple[pl.DataFrame | None, list[str], list[str]]:
    """Trials that `study_summary.json` lists but that never wrote their own directory; also
    the ids of those the store did not hold yet (new news for `--fail-on`) and the problems."""
    if sp.summary_trials is None or sp.summary_dir is None:
        return None, [], []
    records, problems, new_ids = [], [], []
    for entry in sp.summary_trials:
        rec = TrialRecord()
        rec.update(trial_summary_facts(entry))
        if rec.case_name is None or rec.stage_index is None or rec.trial_index is None:
            continue
        rel = f"{rec.case_name}/stage_{rec.stage_index}/trial_{rec.trial_index}"
        trial_dir = os.path.join(sp.summary_dir, rel)
        shown_dir = display(trial_dir)
        if shown_dir in existing_dirs or os.path.isfile(os.path.join(trial_dir, "trial_summary.json")):
            continue
        problems.extend(rec.problems)
        rec.put("study", sp.name)
        eco_class = rec.eco_class or default_eco_classes().get(rec.eco_name or "")
        rec.update({"root": display(sp.summary_dir), "trial_dir": shown_dir, "layout": "noodle2",
                    "crashed_before_dir": True, "fingerprint": fp, "ingested_at": stamp,
                    "exit_code_source": "study_summary" if rec.exit_code is not None else None,
                    "eco_class_source": ("trial" if rec.eco_class else "eco_name") if eco_class else None,
                    "eco_class": eco_class})
        is_new = shown_dir not in ids.by_dir
        rec.trial_id = ids.assign(shown_dir, f"{rec.study}/{rel}")
        if is_new:
            new_ids.append(rec.trial_id)
        records.append(rec)
    return frame(records), new_ids, problems


def ingest_studies(store: Store, study_files: list[StudyFile], config: str | None, stamp: datetime,
                   root_errors: list[tuple[str, str, str, str]], ids: TrialIds, warn: Warn) -> tuple[set[str], list[str], int, int]:
    """Write every changed study; returns (studies found, new crashed trial ids, crashed count, errors)."""
    configs = study_configs(study_files, config, root_errors)
    by_study: dict[tuple[str, str], list[StudyFile]] = {}
    for sf in study_files:
        if sf.kind != "yaml":
            by_study.setdefault(study_key(sf), []).append(sf)
    known = store.frame("SELECT study, fingerprint FROM study_facts")
    known_map = dict(zip(known["study"].to_list(), known["fingerprint"].to_list()))
    existing_dirs = {d for d, c in zip(*[store.known_trials()[c].to_list() for c in ("trial_dir", "crashed_before_dir")]) if not c}
    new_ids: list[str] = []
    crashed_count = errors_count = 0
    for (name, _folder), files in sorted(by_study.items()):
        cfg = configs.get(name) or configs.get(None) or {}
        fp = files_fingerprint([f.path for f in files] + ([cfg["path"]] if cfg else []))
        if known_map.get(name) == fp:
            continue
        sp = parse_study(name, files)
        root = display(sp.summary_dir or str(Path(files[0].path).parent))
        crashed, crashed_new, crash_problems = crashed_trials(sp, fp, stamp, ids, existing_dirs)
        problems: list[str] = list(crash_problems)
        facts = checked(STUDY_KINDS, {
            "study": name, "root": root, "layout": "noodle2", "fingerprint": fp, "ingested_at": stamp,
            **{k: sp.facts.get(k) for k in ("safety_domain", "aborted", "abort_reason",
                                             "telemetry_started_at", "telemetry_finished_at")},
            "config_path": display(cfg["path"]) if cfg.get("path") else None,
            "config_memory_limit_mb": cfg.get("memory_limit_mb"),
            "config_timeout_seconds": cfg.get("timeout_seconds")}, problems)
        events = [checked(EVENT_KINDS, e, problems) for e in sp.events]
        where = display(str(Path(files[0].path).parent))
        errors = [(display(p), e, h) for p, e, h in sp.errors] + \
                 [(where, p, "the value was dropped; the study was kept") for p in dict.fromkeys(problems)]
        error_frame = pl.DataFrame([{"ingested_at": stamp, "root": root, "study": name, "trial_id": None,
                                     "path": p, "error": e, "hint": h} for p, e, h in errors], schema=ERROR_COLUMNS)
        store.replace_study(name, root, pl.DataFrame([facts], schema=STUDY_SCHEMA),
                            pl.DataFrame(events, schema=EVENT_SCHEMA), error_frame, crashed)
        errors_count += len(errors)
        if crashed is not None:
            crashed_count += crashed.height
            new_ids.extend(crashed_new)
        for p, e, h in errors:
            warn(f"{p}: {e}; {h}")
    store.add_trial_only_studies()
    return {name for name, _ in by_study}, new_ids, crashed_count, errors_count
