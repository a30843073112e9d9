"""The report (in a real headless Chromium), `run --fail-on`, and `export`."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import duckdb
import polars as pl
import pytest

from .conftest import copy_store, invoke, make_generic_trial, query_rows

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SECTIONS = ("summary", "failures", "memory", "time", "metrics", "contained", "history", "ingest")


@pytest.fixture
def sample_report(sample_report_template, tmp_path, db) -> Path:
    """`analyzer run sample_logs --db DB --out report.html --default-memory-limit 8g`: a copy of the
    session's run (the store at `db`, the report returned)."""
    store, html = sample_report_template
    copy_store(store, db)
    out = tmp_path / "report.html"
    shutil.copyfile(html, out)
    return out


def _browser():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    return sync_playwright()


@pytest.mark.slow
def test_report_renders_in_headless_chromium_without_errors_or_requests(sample_report, tmp_path):
    with _browser() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(sample_report.as_uri())
        for section in SECTIONS:
            assert page.locator(f"section#{section} h2").is_visible()
        assert page.locator("svg").count() == 8  # failures, peak vs limit, usage bands, risk/slack curve, 3 QoR metrics, history
        assert page.locator("section#metrics svg title", has_text="wns_ps: median change").count() == 1
        assert page.locator("svg text", has_text="peak memory (MiB)").count() == 1
        assert page.locator("section#failures tbody tr").count() == 33
        # sorting and filtering work
        page.locator("section#failures th", has_text="exit").click()
        page.fill("input[data-filter=failed-trials]", "segfault")
        assert page.locator("section#failures tbody tr:visible").count() == 3
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert problems == []
    assert requests == [sample_report.as_uri()]  # the page fetches nothing else


def test_every_log_byte_is_escaped(runner, tmp_path, db):
    root = tmp_path / "evil"
    make_generic_trial(root, "t1", "1", stderr="<script>alert('log')</script>\n[ERROR GRT-0116] <img src=x onerror=alert(2)>\n",
                       **{"trial.json": json.dumps({"study": "<b>s</b>", "eco_name": "<i>eco</i>"})})
    out = tmp_path / "r.html"
    assert invoke(runner, "run", str(root), "--db", db, "--out", str(out), "-q").exit_code == 0
    html = out.read_text()
    assert "<script>alert('log')" not in html and "<img src=x" not in html and "<b>s</b>" not in html
    assert "&lt;script&gt;alert(&#39;log&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&lt;b&gt;s&lt;/b&gt;" in html  # also inside the SVG chart labels


def test_report_filters_by_study_and_since(runner, sample_report, db, tmp_path):
    out = tmp_path / "one.html"
    result = invoke(runner, "report", "--db", db, "--study", "sky130_ibex_nightly", "--out", str(out))
    assert result.exit_code == 0
    assert "report: " in result.stderr and "(25 trials, 4 failed, 1 studies)" in result.stderr
    # Trials without a start or finish time (8 generic ones and the Noodle 2 trial whose truncated
    # summary left no time) count by their ingest time. That was "now", which made this test depend
    # on today's date: pin it on either side of --since.
    untimed = "started_at is null and finished_at is null"
    with duckdb.connect(db) as con:
        assert con.execute(f"select count(*) from trial_facts where {untimed}").fetchone() == (9,)
        con.execute(f"update trial_facts set ingested_at = '2026-11-26 23:59:59' where {untimed}")
    before = invoke(runner, "report", "--db", db, "--since", "2026-11-27", "--out", str(out))
    # 25 + 25 (the next night) + 3 generic trials with times on or after 2026-11-27
    assert "(53 trials, 11 failed, 3 studies)" in before.stderr, before.stderr
    with duckdb.connect(db) as con:
        con.execute(f"update trial_facts set ingested_at = '2026-11-27 00:00:00' where {untimed}")
    since = invoke(runner, "report", "--db", db, "--since", "2026-11-27", "--out", str(out))
    # ... + the 9 untimed trials
    assert "(62 trials, 17 failed, 4 studies)" in since.stderr


def test_fail_on_reports_new_failures_once(runner, tmp_path, db):
    root = tmp_path / "nightly"
    make_generic_trial(root, "route", "1", stderr="[ERROR GRT-0116] Global routing finished with congestion.\n")
    out = str(tmp_path / "r.html")
    assert invoke(runner, "run", str(root), "--db", db, "--out", out, "-q", "--fail-on", "catastrophic").exit_code == 0
    make_generic_trial(root, "oom", "137", stderr="Killed\n")
    first = invoke(runner, "run", str(root), "--db", db, "--out", out, "-q", "--fail-on", "oom")
    assert first.exit_code == 6
    assert first.stderr.strip() == ("Error: fail-on oom: 1 of 1 newly ingested trial(s) failed (out_of_memory 1); "
                                    "first: nightly/oom")
    again = invoke(runner, "run", str(root), "--db", db, "--out", out, "-q", "--fail-on", "any")
    assert again.exit_code == 0  # nothing new was ingested


def test_export_opens_in_duckdb_polars_and_sqlite(runner, sample_report, db, tmp_path):
    counts = {v: query_rows(runner, db, f"select count(*) n from {v}")[0]["n"]
              for v in ("trials", "failures", "memory", "contained_eco_classes", "ingest_errors")}
    for fmt, out in (("parquet", tmp_path / "pq"), ("csv", tmp_path / "csv"), ("sqlite", tmp_path / "x.sqlite")):
        assert invoke(runner, "export", "--db", db, "--format", fmt, "--out", str(out), "-q").exit_code == 0
    for view, n in counts.items():
        assert duckdb.sql(f"select count(*) from '{tmp_path / 'pq' / (view + '.parquet')}'").fetchall()[0][0] == n
        assert pl.read_parquet(tmp_path / "pq" / f"{view}.parquet").height == n
        assert pl.read_csv(tmp_path / "csv" / f"{view}.csv").height == n
        with sqlite3.connect(tmp_path / "x.sqlite") as con:
            assert con.execute(f"select count(*) from {view}").fetchone()[0] == n
    with sqlite3.connect(tmp_path / "x.sqlite") as con:
        assert con.execute("select count(*) from trials where layout = 'noodle2'").fetchone()[0] == 99
