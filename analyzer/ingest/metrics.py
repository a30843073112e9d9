"""QoR metric files beside a trial: Noodle 2's trial-root `metrics.json` (written by the ECO Tcl:
`{design, pdk, execution_type, wns_ps, tns_ps, hot_ratio, clock_period_ns, status}`) and ORFS
`metadata*.json` (flat `stage__category__name` keys such as `finish__power__total`,
`detailedroute__route__drc_errors`). Only numbers are kept; nested objects become dotted names."""

from __future__ import annotations

import glob
import json
import os
from typing import Any

from . import ParseError
from .safe_io import read_text

MAX_METRIC_FILE = 64 << 20


def parse_metric_file(text: str) -> dict[str, float]:
    """Every numeric leaf of a JSON object, by dotted name (booleans and strings are not metrics)."""
    if not text.strip():
        raise ParseError("empty file", "no metrics were taken from it")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
                         "no metrics were taken from it") from exc
    if not isinstance(doc, dict):
        raise ParseError("metrics file is not a JSON object", "no metrics were taken from it")
    out: dict[str, float] = {}

    def walk(node: dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                walk(value, f"{name}.")
            elif isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
                out[name] = float(value) if isinstance(value, float) else value
    walk(doc, "")
    return out


def metric_file_paths(trial_dir: str, metrics_json: str | None) -> list[str]:
    """The trial-root `metrics.json` (found by discovery) and `metadata*.json` at the trial root."""
    paths = [metrics_json] if metrics_json else []
    paths += sorted(glob.glob(os.path.join(glob.escape(trial_dir), "metadata*.json")))
    return paths


def read_metric_files(trial_dir: str, metrics_json: str | None,
                      errors: list[tuple[str, str, str]]) -> str | None:
    """`{"<file name>": {metric: value}}` as JSON for trial_facts.file_metrics_json, or None.
    Unreadable files are appended to `errors` as (path, problem, hint)."""
    found: dict[str, dict[str, float]] = {}
    for path in metric_file_paths(trial_dir, metrics_json):
        try:
            values = parse_metric_file(read_text(path, MAX_METRIC_FILE))
        except ParseError as exc:
            errors.append((path, exc.problem, exc.hint))
            continue
        except OSError as exc:
            errors.append((path, f"cannot read: {exc.strerror or exc}", "no metrics were taken from it"))
            continue
        if values:
            found[os.path.relpath(path, trial_dir)] = values
    return json.dumps(found, sort_keys=True) if found else None
