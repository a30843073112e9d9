"""Outputs never replace inputs: `report --out` and `export --out` refuse the store and files of
another kind, write atomically (a failed write leaves the old file), create folders; CSV exports
neutralize spreadsheet formulas."""

from __future__ import annotations

import csv
import hashlib
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from analyzer.export import neutralize_formulas

from .conftest import copy_store, ingest_and_classify, invoke, make_generic_trial


def digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def small_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding `study/` (two trials) and `store.duckdb` (it ingested and classified), made once."""
    base = tmp_path_factory.mktemp("small")
    root = base / "study"
    make_generic_trial(root, "formula_trial", "1", stderr=(
        "=HYPERLINK(\"http://evil.example\",\"error: click\")\n"
        "+cmd|' /C calc'!A0 error\n"
        "-2+3 error\n"
        "@SUM(A1:A9) error\n"
        "\terror with a leading tab\n"
        "plain error line\n"))
    make_generic_trial(root, "ok_trial", "0")
    ingest_and_classify(CliRunner(), root, str(base / "store.duckdb"))
    return base


@pytest.fixture
def small_store(small_template: Path, tmp_path: Path, db: str) -> str:
    """A private copy of the small store at `db`, its study beside it (for `run`)."""
    shutil.copytree(small_template / "study", tmp_path / "study", symlinks=True)
    return copy_store(small_template / "store.duckdb", db)


OUT_KINDS = {
    "report": lambda out, db: ["report", "--db", db, "--out", out, "-q"],
    "run": lambda out, db: ["run", str(Path(db).parent / "study"), "--db", db, "--out", out, "-q"],
    "export_sqlite": lambda out, db: ["export", "--db", db, "--format", "sqlite", "--out", out, "-q"],
    "export_csv": lambda out, db: ["export", "--db", db, "--format", "csv", "--out", out, "-q"],
}


@pytest.mark.parametrize("kind", sorted(OUT_KINDS))
@pytest.mark.parametrize("alias", ["same_path", "symlink", "hardlink", "wal"])
def test_out_never_replaces_the_store(runner, small_store, tmp_path, kind, alias):
    out = Path(small_store)
    if alias == "symlink":
        out = tmp_path / "looks_harmless.html"
        out.symlink_to(small_store)
    elif alias == "hardlink":
        out = tmp_path / "hard.sqlite"
        os.link(small_store, out)
    elif alias == "wal":
        out = Path(small_store + ".wal")
    before = digest(small_store)
    result = invoke(runner, *OUT_KINDS[kind](str(out), small_store))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"Error: --out {out}: that is the store")
    assert digest(small_store) == before
    assert not Path(small_store + ".wal").exists()


@pytest.mark.parametrize("content", [b"just notes\n", b"%PDF-1.7\n", b"SQLite format 3\x00" + b"\0" * 200])
def test_report_refuses_an_existing_file_that_is_not_html(runner, small_store, tmp_path, content):
    out = tmp_path / "notes.txt"
    out.write_bytes(content)
    result = invoke(runner, "report", "--db", small_store, "--out", str(out))
    assert result.exit_code == 2
    assert result.stderr == f"Error: --out {out}: exists and is not an HTML file; pass another --out or delete it first\n"
    assert out.read_bytes() == content


def test_report_refuses_a_folder_and_replaces_an_earlier_report(runner, small_store, tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    result = invoke(runner, "report", "--db", small_store, "--out", str(folder))
    assert result.exit_code == 2 and "is a directory" in result.stderr  # click's own check
    out = folder / "r.html"
    out.write_text("<!DOCTYPE html><html><body>yesterday</body></html>")
    assert invoke(runner, "report", "--db", small_store, "--out", str(out), "-q").exit_code == 0
    assert "yesterday" not in out.read_text() and "formula_trial" in out.read_text()
    assert sorted(p.name for p in folder.iterdir()) == ["r.html"]  # no temp file left


def test_outputs_create_missing_folders(runner, small_store, tmp_path):
    report = tmp_path / "a" / "b" / "report.html"
    sqlite_out = tmp_path / "c" / "d" / "views.sqlite"
    csv_out = tmp_path / "e" / "f"
    assert invoke(runner, "report", "--db", small_store, "--out", str(report), "-q").exit_code == 0
    assert invoke(runner, "export", "--db", small_store, "--format", "sqlite", "--out", str(sqlite_out), "-q").exit_code == 0
    assert invoke(runner, "export", "--db", small_store, "--format", "csv", "--out", str(csv_out), "-q").exit_code == 0
    assert report.read_text().lstrip().lower().startswith("<!doctype html")
    with sqlite3.connect(sqlite_out) as con:
        assert con.execute("select count(*) from trials").fetchone()[0] == 2
    assert (csv_out / "trials.csv").exists()


def test_export_sqlite_refuses_a_file_of_another_kind_and_replaces_an_earlier_export(runner, small_store, tmp_path):
    out = tmp_path / "views.sqlite"
    out.write_text("my thesis, chapter 1\n")
    result = invoke(runner, "export", "--db", small_store, "--format", "sqlite", "--out", str(out))
    assert result.exit_code == 2 and "exists and is not a SQLite database" in result.stderr
    assert out.read_text() == "my thesis, chapter 1\n"
    out.unlink()
    with sqlite3.connect(out) as con:
        con.execute("create table old_stuff(a)")
    con.close()
    assert invoke(runner, "export", "--db", small_store, "--format", "sqlite", "--out", str(out), "-q").exit_code == 0
    with sqlite3.connect(out) as con:
        tables = {r[0] for r in con.execute("select name from sqlite_master where type = 'table'")}
    assert "old_stuff" not in tables and "trials" in tables


def test_export_to_a_folder_refuses_an_existing_file(runner, small_store, tmp_path):
    out = tmp_path / "export.csv"
    out.write_text("a,b\n")
    result = invoke(runner, "export", "--db", small_store, "--format", "csv", "--out", str(out))
    assert result.exit_code == 2 and "is a file" in result.stderr
    assert out.read_text() == "a,b\n"


def _limited(limit_bytes: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    return apply


@pytest.mark.parametrize("kind", ["report", "export_sqlite"])
def test_a_write_that_fails_half_way_leaves_the_old_file_intact(runner, small_store, tmp_path, kind):
    """A file-size limit makes every write past 4 KB fail, as a full disk does."""
    out = tmp_path / ("report.html" if kind == "report" else "views.sqlite")
    assert invoke(runner, *OUT_KINDS[kind](str(out), small_store)).exit_code == 0
    before = digest(out)
    cmd = [sys.executable, "-m", "analyzer.cli", *OUT_KINDS[kind](str(out), small_store)]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, preexec_fn=_limited(4096), timeout=120)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr
    assert "unchanged" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp file left


def test_csv_export_neutralizes_spreadsheet_formulas_and_keeps_numbers(runner, small_store, tmp_path):
    out = tmp_path / "csv"
    assert invoke(runner, "export", "--db", small_store, "--format", "csv", "--out", str(out), "-q").exit_code == 0
    with open(out / "trial_log_lines.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["trial_id"].endswith("formula_trial") and r["stream"] == "stderr"]
    texts = {r["text"] for r in rows}
    assert "'=HYPERLINK(\"http://evil.example\",\"error: click\")" in texts
    assert "'+cmd|' /C calc'!A0 error" in texts
    assert "'-2+3 error" in texts and "'@SUM(A1:A9) error" in texts
    assert "plain error line" in texts
    assert not any(t[:1] in "=+-@\t\r" for t in texts)
    assert all(r["line_no"].isdigit() for r in rows)  # numbers stay numbers
    parquet_out = tmp_path / "pq"
    assert invoke(runner, "export", "--db", small_store, "--format", "parquet", "--out", str(parquet_out), "-q").exit_code == 0
    assert "=HYPERLINK(\"http://evil.example\",\"error: click\")" in pl.read_parquet(parquet_out / "trial_log_lines.parquet")["text"].to_list()


def test_neutralize_formulas_touches_only_text_columns():
    frame = pl.DataFrame({"n": [-5, 3], "x": [-1.5, 2.0], "t": ["-5", "ok"], "l": [None, "=1+1"]})
    out = neutralize_formulas(frame)
    assert out["n"].to_list() == [-5, 3] and out["x"].to_list() == [-1.5, 2.0]
    assert out["t"].to_list() == ["'-5", "ok"] and out["l"].to_list() == [None, "'=1+1"]


@pytest.mark.parametrize("kind", sorted(OUT_KINDS))
def test_an_empty_out_is_refused(runner, small_store, tmp_path, kind, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = invoke(runner, *OUT_KINDS[kind]("", small_store))
    assert result.exit_code == 2 and result.stderr.startswith("Error: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
