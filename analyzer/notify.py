"""`run --notify / --notify-command / --summary-json`: one JSON summary of what a run found new.

The summary has a top-level `text` and Slack-style `attachments[].fields`, which both Slack and
Mattermost incoming webhooks render; the full structured summary is under `analyzer` (webhooks
ignore keys they do not know). Delivery never raises: it returns a problem text for the caller
to print as a warning, so a webhook that is down cannot fail a nightly run.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from . import __version__
from .store import Store, sql_text

WEBHOOK_TIMEOUT_SECONDS = 10.0
WEBHOOK_RETRY_DELAY_SECONDS = 2.0
COMMAND_TIMEOUT_SECONDS = 120.0
MAX_LISTED = 20  # rows per list in the message text; the `analyzer` object has them all
REGRESSION_THRESHOLD_PCT = 5.0


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
            for row in frame.iter_rows(named=True)]


def build_summary(store: Store, new_trial_ids: list[str], report_path: str | None,
                  threshold_pct: float = REGRESSION_THRESHOLD_PCT) -> dict[str, Any]:
    """What the newly ingested trials brought: failures, signatures, containment, timeouts, regressions."""
    ids = pl.DataFrame({"trial_id": new_trial_ids}, schema={"trial_id": pl.String})
    with store.registered("new_trials", ids):
        failures = store.frame_file("notify_failures")
        signatures = store.frame_file("notify_new_signatures")
        contained = store.frame_file("notify_contained")
        timeouts = store.frame_file("notify_timeouts")
        regressions = store.frame(sql_text("queries/metric_regressions"),
                                  {"threshold_pct": str(threshold_pct), "study": ""},
                                  origin="sql/queries/metric_regressions.sql")
    regressions = regressions.filter(pl.col("trial_id").is_in(new_trial_ids))
    studies = sorted({i.split("/", 1)[0] for i in new_trial_ids})
    by_type = dict(failures["failure_type"].value_counts(sort=True).iter_rows()) if failures.height else {}
    catastrophic = failures.filter(pl.col("catastrophic")).select("trial_id", "study", "failure_type", "reason")
    summary = {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "analyzer_version": __version__,
        "new_trials": len(new_trial_ids),
        "studies": studies,
        "new_failures": failures.height,
        "new_failures_by_type": by_type,
        "new_catastrophic_failures": _rows(catastrophic),
        "new_failure_signatures": _rows(signatures),
        "contained_eco_classes": _rows(contained),
        "timeouts": _rows(timeouts),
        "metric_regressions": _rows(regressions.select(
            "study", "design", "stage_index", "eco_name", "metric", "unit", "previous_study",
            "previous_value", "value", "worse_by", "worse_pct", "trial_id", "previous_trial_id")),
        "regression_threshold_pct": threshold_pct,
        "report": str(Path(report_path).resolve()) if report_path else None,
    }
    return webhook_payload(summary)


def _list(items: list[str]) -> str:
    shown = items[:MAX_LISTED]
    more = len(items) - len(shown)
    return "\n".join(f"- {i}" for i in shown) + (f"\n- … and {more} more" if more > 0 else "")


def webhook_payload(summary: dict[str, Any]) -> dict[str, Any]:
    """Slack/Mattermost shape: `text` + `attachments[0].fields`, the full summary under `analyzer`."""
    s = summary
    types = ", ".join(f"{t} {n}" for t, n in s["new_failures_by_type"].items()) or "none"
    regr = [f"{r['metric']} {r['design']} stage {r['stage_index']} {r['eco_name']}: "
            f"{r['previous_value']:g} -> {r['value']:g} {r['unit'] or ''} ({r['worse_pct']}% worse than "
            f"{r['previous_study']})".replace("  ", " ") for r in s["metric_regressions"]]
    cat = [f"{r['failure_type']}: {r['trial_id']}" for r in s["new_catastrophic_failures"]]
    sigs = [f"{r['failure_type']}: {r['signature']} ({r['trials']} trial(s), e.g. {r['example_trial_id']})"
            for r in s["new_failure_signatures"]]
    cont = [f"{r['study']}: {r['eco_class']} after {r['trigger_failure_type']} in {r['trigger_trial_id']}"
            for r in s["contained_eco_classes"]]
    tmo = [f"{r['trial_id']}: {'timed out' if r['timed_out'] else 'soft timeout' if r['soft_timed_out'] else 'near limit'}"
           f" ({r['runtime_pct']}% of {r['timeout_seconds']:g} s; suggested {r['suggested_timeout_seconds']:g} s)"
           for r in s["timeouts"] if r["timeout_seconds"]]
    alarming = bool(cat or regr or sigs or cont)
    head = (f"analyzer: {s['new_trials']} new trial(s) in {', '.join(s['studies']) or 'no study'}: "
            f"{s['new_failures']} failed ({types}), {len(cat)} catastrophic, {len(sigs)} new failure "
            f"signature(s), {len(cont)} ECO class(es) contained, {len(tmo)} timeout(s) or near, "
            f"{len(regr)} metric regression(s).")
    parts = [head]
    for title, items in (("Catastrophic", cat), ("New failure signatures", sigs), ("Contained ECO classes", cont),
                         ("Metric regressions", regr), ("Timeouts", tmo)):
        if items:
            parts.append(f"{title}:\n{_list(items)}")
    if s["report"]:
        parts.append(f"Report: {s['report']}")
    text = "\n".join(parts)
    fields = [
        {"title": "New failures", "value": f"{s['new_failures']} ({types})", "short": True},
        {"title": "Catastrophic", "value": _list(cat) if cat else "none", "short": True},
        {"title": "New failure signatures", "value": _list(sigs) if sigs else "none", "short": False},
        {"title": "Contained ECO classes", "value": _list(cont) if cont else "none", "short": False},
        {"title": "Metric regressions", "value": _list(regr) if regr else "none", "short": False},
        {"title": "Timeouts", "value": _list(tmo) if tmo else "none", "short": False},
    ]
    if s["report"]:
        fields.append({"title": "Report", "value": s["report"], "short": False})
    return {
        "text": text,
        "attachments": [{"fallback": head, "color": "#D55E00" if alarming else "#009E73",
                         "title": "analyzer run summary", "fields": fields}],
        "analyzer": summary,
    }


def _where(url: str) -> str:
    """scheme://host of a webhook URL: its path is often the secret, never print it."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}{':' + str(parts.port) if parts.port else ''}"


def dumps(payload: dict[str, Any]) -> str:
    """The one serialisation of the summary (file, command stdin and webhook body alike)."""
    return json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n"


def post_webhook(url: str, payload: dict[str, Any], timeout: float | None = None,
                 retries: int = 1, retry_delay: float | None = None) -> str | None:
    """POST the payload as JSON; None when delivered, else what went wrong (after one retry)."""
    timeout = WEBHOOK_TIMEOUT_SECONDS if timeout is None else timeout
    retry_delay = WEBHOOK_RETRY_DELAY_SECONDS if retry_delay is None else retry_delay
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        return f"--notify {url!r}: not an http(s) URL"
    data = dumps(payload).encode("utf-8")
    problem = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(retry_delay)
        request = urllib.request.Request(url, data=data, method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "User-Agent": f"analyzer/{__version__}"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
            return None
        except urllib.error.HTTPError as exc:
            problem = f"HTTP {exc.code} {exc.reason}"
            if exc.code < 500 and exc.code != 429:
                break  # the payload or the URL is wrong: retrying will not help
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            problem = str(getattr(exc, "reason", None) or exc)
    tries = "1 try" if attempt == 0 else f"{attempt + 1} tries"
    return f"webhook {_where(url)} not notified ({problem}; {tries})"


def run_command(command: str, payload: dict[str, Any], timeout: float | None = None) -> str | None:
    """Pipe the JSON to a shell command's stdin; None when it exits 0, else what went wrong."""
    timeout = COMMAND_TIMEOUT_SECONDS if timeout is None else timeout
    try:
        done = subprocess.run(command, shell=True, input=dumps(payload).encode("utf-8"),
                              capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"--notify-command did not finish within {timeout:g} s"
    except OSError as exc:
        return f"--notify-command could not start: {exc}"
    if done.returncode != 0:
        last = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        return f"--notify-command exited {done.returncode}" + (f": {last[0][:200]}" if last[0] else "")
    return None


def write_summary(path: str, payload: dict[str, Any]) -> str | None:
    """Write the summary JSON to `path`; returns the problem (a warning) or None."""
    try:
        Path(path).write_text(dumps(payload), encoding="utf-8")
    except OSError as exc:
        return f"--summary-json {path}: {exc.strerror or exc}"
    return None
