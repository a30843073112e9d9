"""Module boundaries, checked in a fresh interpreter: what importing a module drags in."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def loaded_after(code: str) -> set[str]:
    """The modules in sys.modules after running `code` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_classify_is_pure_frames_and_loads_no_duckdb():
    mods = loaded_after("import analyzer.classify")
    assert "polars" in mods  # the probe works: classify does run on Polars
    assert "duckdb" not in mods
    assert not {"analyzer.store", "analyzer.logstore", "analyzer.jobs"} & mods


def test_ingest_loads_neither_classify_nor_report():
    mods = loaded_after("import analyzer.ingest.pipeline, analyzer.ingest.discover, analyzer.ingest.logs")
    assert "analyzer.ingest.pipeline" in mods
    assert not {"analyzer.classify", "analyzer.report", "jinja2"} & mods


def test_help_loads_neither_polars_nor_duckdb():
    code = ("import sys\nfrom analyzer.cli import main\nsys.argv = ['analyzer', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass")
    mods = loaded_after(code)
    assert "click" in mods and "analyzer.cli" in mods
    assert not {"polars", "duckdb", "pyarrow", "jinja2"} & mods


def test_jobs_module_is_light_until_a_job_runs():
    mods = loaded_after("from analyzer import jobs")
    assert not {"polars", "duckdb"} & mods
