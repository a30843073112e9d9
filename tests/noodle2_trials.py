"""Write minimal Noodle 2 trial directories (the fields `trial_summary.json` really has) for tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

START = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def noodle2_trial(root: Path, study: str, base: str, stage: int, trial: int, eco: str, *, rc: int = 0,
                  runtime: float = 100.0, metrics: dict[str, Any] | None = None, stderr: str = "",
                  timed_out: bool = False, start: datetime = START) -> Path:
    """`<root>/<study>/<base>_<stage>_<trial>/stage_<stage>/trial_<trial>/` with summary and logs."""
    case = f"{base}_{stage}_{trial}"
    tdir = root / study / case / f"stage_{stage}" / f"trial_{trial}"
    (tdir / "logs").mkdir(parents=True, exist_ok=True)
    began = start + timedelta(seconds=1000 * stage + 10 * trial)
    (tdir / "trial_summary.json").write_text(json.dumps({
        "study_name": study, "case_name": case, "stage_index": stage, "trial_index": trial,
        "success": rc == 0, "return_code": rc, "runtime_seconds": runtime,
        "start_time": began.isoformat(), "end_time": (began + timedelta(seconds=runtime)).isoformat(),
        "timed_out": timed_out, "metrics": metrics or {}, "container_id": f"{stage:06d}{trial:06d}",
        "metadata": {"stage_name": f"stage_{stage}", "eco_type": eco, "eco_parameters": {}}}))
    (tdir / "logs" / "stdout.txt").write_text("OpenROAD v2.0-17198-g8396d0866\n")
    (tdir / "logs" / "stderr.txt").write_text(stderr)
    return tdir
