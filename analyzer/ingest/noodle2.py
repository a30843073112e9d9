"""Noodle 2's own files: `trial_summary.json` and the study-level summaries, telemetry and event
stream (spec/noodle2-layout.md)."""

from __future__ import annotations

import json
from typing import Any

from ..units import parse_time_or_none
from . import ParseError
from .safe_io import loads_json, sub_dict


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def dumps_json(value: Any) -> str | None:
    """A nested JSON value as sorted JSON text (None if it cannot be written back)."""
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        return None


def load_json(text: str) -> Any:
    if not text.strip():
        raise ParseError("empty file")
    try:
        return loads_json(text)
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc


def trial_summary_facts(doc: Any) -> dict[str, Any]:
    """The trial_facts columns that a `trial_summary.json` (or a study_summary entry) gives.

    Values are raw (as the JSON holds them): the typed record (record.py) checks each one."""
    if not isinstance(doc, dict):
        raise ParseError("trial summary is not a JSON object")
    metadata = _dict(doc.get("metadata"))
    failure = _dict(doc.get("failure"))
    provenance = _dict(doc.get("provenance"))
    image = provenance.get("container_image")
    if isinstance(image, str) and image and isinstance(provenance.get("container_tag"), str):
        image = f"{image}:{provenance['container_tag']}"
    return {
        "study": doc.get("study_name"),
        "case_name": doc.get("case_name"),
        "stage_index": doc.get("stage_index"),
        "trial_index": doc.get("trial_index"),
        "exit_code": doc.get("return_code"),
        "timed_out": doc.get("timed_out"),
        "started_at": doc.get("start_time"),
        "finished_at": doc.get("end_time"),
        "runtime_seconds": doc.get("runtime_seconds"),
        "peak_summary_mb": doc.get("peak_memory_mb"),
        "eco_name": metadata.get("eco_type"),
        "eco_class": metadata.get("eco_class"),
        "eco_parameters": dumps_json(metadata["eco_parameters"])
        if isinstance(metadata.get("eco_parameters"), dict) else None,
        "container_id": doc.get("container_id") or provenance.get("container_id"),
        "command": provenance.get("command"),
        "image": image,
        "metrics_json": dumps_json(doc["metrics"]) if isinstance(doc.get("metrics"), dict) else None,
        "source_failure_type": failure.get("failure_type"),
        "source_failure_severity": failure.get("severity"),
        "source_failure_reason": failure.get("reason"),
        "limit_noodle2_mb": _dict(failure.get("metrics")).get("memory_limit_mb"),
    }


def study_summary_trials(doc: Any) -> list[dict[str, Any]]:
    """Every trial result listed in `study_summary.json`."""
    if not isinstance(doc, dict):
        raise ParseError("study summary is not a JSON object")
    out: list[dict[str, Any]] = []
    stages = doc.get("stage_results")
    for stage in stages if isinstance(stages, list) else []:
        trials = stage.get("trial_results") if isinstance(stage, dict) else None
        out.extend(t for t in (trials if isinstance(trials, list) else []) if isinstance(t, dict))
    return out


def study_summary_facts(doc: dict[str, Any]) -> dict[str, Any]:
    return {"aborted": doc.get("aborted"), "abort_reason": doc.get("abort_reason")}


def telemetry_facts(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise ParseError("study telemetry is not a JSON object")
    return {
        "study": doc.get("study_name"),
        "safety_domain": doc.get("safety_domain"),
        "aborted": doc.get("aborted"),
        "abort_reason": doc.get("abort_reason"),
        "telemetry_started_at": doc.get("start_time"),
        "telemetry_finished_at": doc.get("end_time"),
    }


def event_rows(study: str, text: str) -> tuple[list[dict[str, Any]], int]:
    """Rows of `event_stream.ndjson` and the number of unreadable lines."""
    rows, bad = [], 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            event = loads_json(line)
        except (json.JSONDecodeError, ParseError):
            bad += 1
            continue
        if not isinstance(event, dict):
            bad += 1
            continue
        data = sub_dict(event, "event_data")
        rows.append({
            "study": data.get("study_name") or study,
            "event_type": event.get("event_type"),
            "event_at": parse_time_or_none(event.get("timestamp")),
            "stage_index": data.get("stage_index"),
            "case_name": data.get("case_name"),
            "trial_index": data.get("trial_index"),
            "event_data": dumps_json(data),
        })
    return rows, bad
