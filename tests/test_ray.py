"""`--engine ray`: the same store as `--engine local` (every public view, row for row), a worker
killed mid-batch retried without a duplicate trial, progress on stderr, and the install hint
when Ray is missing. One local Ray (`ray.init(num_cpus=2)`) is shared by the module."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer.ingest import pipeline

from .conftest import REPO, ingest_and_classify, invoke, make_generic_trial, query_rows, run_in_pty

ray = pytest.importorskip("ray", reason="the Ray extra is not installed (pip install 'analyzer[ray]')")

RUN_DEPENDENT = {"ingested_at"}  # the wall-clock stamp of each ingest


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield
    ray.shutdown()


@pytest.fixture
def small_batches(monkeypatch):
    """Several batches even on small corpora: order, windowing and the retry are exercised."""
    monkeypatch.setattr(pipeline, "BATCH_TRIALS", 7)


@pytest.fixture(scope="module")
def generated_study(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("generated") / "study"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "generate.py"), str(out), "--trials", "40",
                    "--total-mb", "4", "--profile", "dense"], check=True, capture_output=True)
    return out


def public_views(runner, db: str) -> dict[str, list[dict]]:
    """Every view of the store, all rows in a stable order, without run-dependent columns."""
    names = [r["view_name"] for r in query_rows(
        runner, db, "select view_name from duckdb_views() where not internal and schema_name = 'main' order by 1")]
    views = {}
    for name in names:
        cols = [r["column_name"] for r in query_rows(
            runner, db, f"select column_name from information_schema.columns where table_name = '{name}' "
                        "order by ordinal_position") if r["column_name"] not in RUN_DEPENDENT]
        select = ", ".join(f'"{c}"' for c in cols)
        views[name] = query_rows(runner, db, f'select {select} from "{name}" order by all')
    return views


def assert_same_store(runner, local_db: str, ray_db: str) -> None:
    local, distributed = public_views(runner, local_db), public_views(runner, ray_db)
    assert sorted(local) == sorted(distributed)
    for name in ("trials", "failures", "failure_evidence", "memory", "studies", "memory_samples",
                 "ingest_errors", "contained_eco_classes", "trial_log_lines"):
        assert name in local, name
    for name, rows in local.items():
        assert rows == distributed[name], f"view {name} differs between --engine local and --engine ray"


@pytest.mark.parametrize("corpus", ["sample_logs", "generated"])
def test_every_view_is_equal_row_for_row(runner, tmp_path, sample_root, generated_study, small_batches, corpus):
    root = sample_root if corpus == "sample_logs" else generated_study
    local_db, ray_db = str(tmp_path / "local.duckdb"), str(tmp_path / "ray.duckdb")
    ingest_and_classify(runner, root, local_db, "--engine", "local")
    ingest_and_classify(runner, root, ray_db, "--engine", "ray")
    trials = query_rows(runner, ray_db, "select count(*) n, count(distinct trial_dir) dirs from trials")[0]
    assert trials["n"] > 3 * pipeline.BATCH_TRIALS  # several batches went through Ray
    assert_same_store(runner, local_db, ray_db)
    # a re-run skips every unchanged trial by fingerprint, as locally
    again = invoke(runner, "ingest", str(root), "--db", ray_db, "--engine", "ray")
    assert again.exit_code == 0 and " 0 read, " in again.stderr


def test_a_worker_killed_mid_batch_is_retried_and_no_trial_is_duplicated(runner, tmp_path, generated_study,
                                                                         small_batches, monkeypatch):
    local_db, ray_db = str(tmp_path / "local.duckdb"), str(tmp_path / "ray.duckdb")
    ingest_and_classify(runner, generated_study, local_db)
    monkeypatch.setenv("ANALYZER_RAY_FAIL_BATCH", "2")
    monkeypatch.setenv("ANALYZER_RAY_FAIL_DIR", str(tmp_path))
    ingest_and_classify(runner, generated_study, ray_db, "--engine", "ray")
    assert (tmp_path / "batch-2.killed").exists()  # the third batch's worker really died once
    counts = query_rows(runner, ray_db, "select count(*) n, count(distinct trial_id) ids, "
                                        "count(distinct trial_dir) dirs from trials")[0]
    assert counts["n"] == counts["ids"] == counts["dirs"] == 40
    assert query_rows(runner, ray_db, "select count(*) n from (select trial_id, stream, line_no "
                                      "from trial_log_lines group by all having count(*) > 1)")[0]["n"] == 0
    assert_same_store(runner, local_db, ray_db)


def test_progress_on_stderr_across_the_cluster(tmp_path):
    """A second driver joins the module's Ray with --ray-address; progress is painted as locally."""
    root = tmp_path / "study"
    block = "".join(f"[INFO GRT-0101] iteration {i} of many, nothing to see here\n" for i in range(2000))
    for i in range(60):
        make_generic_trial(root, f"t{i:03d}", "0", stdout=block)
    address = ray.get_runtime_context().gcs_address
    code, chunks = run_in_pty(["ingest", str(root), "--db", str(tmp_path / "p.duckdb"), "--engine", "ray",
                               "--ray-address", address], timeout=180, env={**os.environ, "RAY_ADDRESS": ""})
    text = "".join(c for _, c in chunks)
    assert code == 0, text[-2000:]
    paints = re.findall(r"\ringest: (\d+)/60 trials, ([\d.]+) MB \(([\d.]+) MB/s", text)
    assert paints and paints[-1][0] == "60", text[-2000:]
    assert float(paints[-1][1]) >= 60 * len(block) / 1e6 * 0.99  # every log's bytes counted
    assert "60 read" in text


def test_without_ray_installed_engine_ray_is_one_line_naming_the_extra(runner, tmp_path, monkeypatch):
    root = tmp_path / "study"
    make_generic_trial(root, "t1", "0", stdout="ok\n")
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    db = tmp_path / "s.duckdb"
    for command in ("ingest", "run"):
        result = invoke(runner, command, str(root), "--db", str(db), "--engine", "ray")
        assert result.exit_code == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "pip install 'analyzer[ray]'" in lines[0], result.stderr
    assert not db.exists()  # nothing was opened or created


def test_engine_local_never_imports_ray(tmp_path):
    root = tmp_path / "study"
    make_generic_trial(root, "t1", "0", stdout="ok\n")
    code = ("import sys; from analyzer.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "print(json.dumps('ray' in sys.modules))")
    out = subprocess.run([sys.executable, "-c", "import json\n" + code, "ingest", str(root), "--db",
                          str(tmp_path / "s.duckdb"), "-q", "--engine", "local"],
                         capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) is False
