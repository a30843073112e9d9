"""Noodle 2's own files: `trial_summary.json` and the study-level summaries, telemetry and event
stream (spec/noodle2-layout.md)."""

from __future__ import annotations

import json
from typing import Any

from ..units import parse_time
from . import ParseError


def load_json(text: str) -> Any:
    if not text.strip():
        raise ParseError("empty file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc


def trial_summary_facts(doc: Any) -> dict[str, Any]:
    """The trial_facts columns that a `trial_summary.json` (or a study_summary entry) gives."""
    if not isinstance(doc, dict):
        raise ParseError("trial summary is not a JSON object")
    metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    failure = doc.get("failure") if isinstance(doc.get("failure"), dict) else None
    failure_metrics = (failure or {}).get("metrics") or {}
    provenance = doc.get("provenance") if isinstance(doc.get("provenance"), dict) else {}
    image = provenance.get("container_image")
    if image and provenance.get("container_tag"):
        image = f"{image}:{provenance['container_tag']}"

    def num(value: Any) -> float | None:
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    def integer(value: Any) -> int | None:
        return int(value) if isinstance(value, int) and not isinstance(value, bool) else None

    return {
        "study": doc.get("study_name"),
        "case_name": doc.get("case_name"),
        "stage_index": integer(doc.get("stage_index")),
        "trial_index": integer(doc.get("trial_index")),
        "exit_code": integer(doc.get("return_code")),
        "timed_out": doc.get("timed_out") if isinstance(doc.get("timed_out"), bool) else None,
        "started_at": parse_time(doc.get("start_time")),
        "finished_at": parse_time(doc.get("end_time")),
        "runtime_seconds": num(doc.get("runtime_seconds")),
        "peak_summary_mb": num(doc.get("peak_memory_mb")),
        "eco_name": metadata.get("eco_type"),
        "eco_class": metadata.get("eco_class"),
        "eco_parameters": json.dumps(metadata["eco_parameters"], sort_keys=True)
        if isinstance(metadata.get("eco_parameters"), dict) else None,
        "container_id": doc.get("container_id") or provenance.get("container_id"),
        "command": provenance.get("command"),
        "image": image,
        "metrics_json": json.dumps(doc["metrics"], sort_keys=True)
        if isinstance(doc.get("metrics"), dict) else None,
        "source_failure_type": (failure or {}).get("failure_type"),
        "source_failure_severity": (failure or {}).get("severity"),
        "source_failure_reason": (failure or {}).get("reason"),
        "limit_noodle2_mb": num(failure_metrics.get("memory_limit_mb")),
    }


def study_summary_trials(doc: Any) -> list[dict[str, Any]]:
    """Every trial result listed in `study_summary.json`."""
    if not isinstance(doc, dict):
        raise ParseError("study summary is not a JSON object")
    out = []
    for stage in doc.get("stage_results") or []:
        if isinstance(stage, dict):
            out.extend(t for t in stage.get("trial_results") or [] if isinstance(t, dict))
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
        "telemetry_started_at": parse_time(doc.get("start_time")),
        "telemetry_finished_at": parse_time(doc.get("end_time")),
    }


def event_rows(study: str, text: str) -> tuple[list[dict[str, Any]], int]:
    """Rows of `event_stream.ndjson` and the number of unreadable lines."""
    rows, bad = [], 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if not isinstance(event, dict):
            bad += 1
            continue
        data = event.get("event_data") if isinstance(event.get("event_data"), dict) else {}
        rows.append({
            "study": data.get("study_name") or study,
            "event_type": event.get("event_type"),
            "event_at": parse_time(event.get("timestamp")),
            "stage_index": data.get("stage_index") if isinstance(data.get("stage_index"), int) else None,
            "case_name": data.get("case_name"),
            "trial_index": data.get("trial_index") if isinstance(data.get("trial_index"), int) else None,
            "event_data": json.dumps(data, sort_keys=True),
        })
    return rows, bad
