"""Query output: the table fits 80 and 160 columns, piped output is full width, every format
renders every kind of DuckDB value. The exact text is pinned in tests/golden/ by test_golden.py
(`ANALYZER_UPDATE_GOLDENS=1 python -m pytest tests/test_golden.py` rewrites it)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer.output import FORMATS, fit_widths, text_width
from analyzer.store import open_store

from .conftest import invoke

GOLDEN = Path(__file__).resolve().parent / "golden"

# Shaped like `select ... from memory`: long slash-separated ids, numbers, NULLs.
TRIALS_SQL = """
select * from (values
  ('nangate45_extreme_demo/nangate45_extreme_ibex_1_5/stage_1/trial_5', 'nangate45_extreme_demo',
   'routing_affecting', 1, 8190.2, 8192.0, 0.9998, '12g', 'suggest'),
  ('orfs_nightly_generic/route_137_oomkilled_false', 'orfs_nightly_generic', 'routing_affecting',
   2, 4094.0, 4096.0, 0.9995, '6g', 'suggest'),
  ('sky130_ibex_nightly/sky130_ibex_2_3/stage_2/trial_3', 'sky130_ibex_nightly', NULL, 2, NULL,
   8192.0, NULL, NULL, NULL)
) t(trial_id, study, eco_class, stage_index, peak_memory_mb, memory_limit_mb, usage_ratio,
    suggested_memory_limit, suggestion_kind)
order by trial_id
"""

# Every awkward kind of value DuckDB returns.
ODD_SQL = """
select 1 as id, interval 1 month + interval 90 minute as span, [1, 2, NULL] as ints,
       ['a,b', 'c"d'] as texts, {'peak': 'nan'::double, 'ok': true} as st, map {'k': 1} as m,
       'inf'::double as pos, '-inf'::double as neg, 'nan'::double as nan,
       'line one' || chr(10) || 'line|two' || chr(9) || 'tab' as text, '\\xAA\\x00'::blob as blob,
       170141183460469231731687303715884105727::hugeint as huge, 12.50::decimal(10,2) as dec,
       '2026-11-28 10:00:00'::timestamp as at, 'infinity'::timestamp as never, NULL as nothing,
       '数据 wide' as wide
"""


@pytest.fixture
def store(tmp_path) -> str:
    db = str(tmp_path / "store.duckdb")
    open_store(db).close()
    return db


def check_golden(name: str, text: str) -> None:
    """`text` equals tests/golden/<name> (test_golden.py writes and pins these files)."""
    assert text == (GOLDEN / name).read_text(encoding="utf-8"), (
        f"{name} differs from the golden file; see tests/test_golden.py")


@pytest.mark.parametrize("width", [80, 160])
def test_table_fits_the_width_without_wrapping(runner, store, width):
    result = invoke(runner, "query", TRIALS_SQL, "--db", store, "--width", str(width))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert {text_width(line) for line in lines} == {width} if width == 80 else max(map(text_width, lines)) <= width
    check_golden(f"table_{width}.txt", result.stdout)


def test_piped_table_is_full_width_and_never_cuts_an_id(runner, store):
    piped = invoke(runner, "query", TRIALS_SQL, "--db", store)  # CliRunner's stdout is not a terminal
    assert "nangate45_extreme_demo/nangate45_extreme_ibex_1_5/stage_1/trial_5" in piped.stdout
    assert "…" not in piped.stdout
    no_truncate = invoke(runner, "query", TRIALS_SQL, "--db", store, "--width", "80", "--no-truncate")
    assert no_truncate.stdout == piped.stdout
    narrow = invoke(runner, "query", TRIALS_SQL, "--db", store, "--width", "80")
    assert "…" in narrow.stdout and narrow.stdout != piped.stdout


def test_too_many_columns_for_the_width_are_left_out_with_a_note(runner, store):
    sql = "select " + ", ".join(f"'value_{i}' as column_{i}" for i in range(30))
    result = invoke(runner, "query", sql, "--db", store, "--width", "80")
    assert max(map(text_width, result.stdout.splitlines())) <= 80
    assert "columns do not fit in 80 characters" in result.stderr and "column_29" in result.stderr


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_every_kind_of_value(runner, store, fmt):
    result = invoke(runner, "query", ODD_SQL, "--db", store, "--format", fmt)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    check_golden(f"odd_values.{fmt}", result.stdout)


def test_json_of_odd_values_is_valid_json_with_exact_intervals(runner, store):
    rows = json.loads(invoke(runner, "query", ODD_SQL, "--db", store, "--format", "json").stdout)
    assert rows[0]["span"] == "1 month 01:30:00"
    assert rows[0]["pos"] == "Infinity" and rows[0]["nan"] == "NaN"
    assert rows[0]["ints"] == [1, 2, None] and rows[0]["st"] == {"peak": "NaN", "ok": True}
    assert rows[0]["huge"] == 170141183460469231731687303715884105727


def test_csv_lists_are_json_text(runner, store):
    import csv
    import io
    text = invoke(runner, "query", ODD_SQL, "--db", store, "--format", "csv").stdout
    row = next(csv.DictReader(io.StringIO(text)))
    assert json.loads(row["ints"]) == [1, 2, None]
    assert json.loads(row["texts"]) == ["a,b", 'c"d']
    assert row["text"] == "line one\nline|two\ttab"


def test_tsv_keeps_one_row_per_line(runner, store):
    lines = invoke(runner, "query", ODD_SQL, "--db", store, "--format", "tsv").stdout.splitlines()
    assert len(lines) == 2
    assert len(lines[1].split("\t")) == len(lines[0].split("\t")) == 17


def test_fit_widths_keeps_narrow_and_numeric_columns_whole():
    assert fit_widths([10, 5], 20) == [10, 5]
    widths = fit_widths([60, 8, 40], 50, [False, True, False])
    assert sum(widths) == 50 and widths[1] == 8 and widths[0] >= widths[2]
    assert fit_widths([30] * 20, 40) is None


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_on_a_terminal_the_table_fits_its_width(store):
    """Through a real pseudo-terminal: no --width, the table takes the terminal's columns."""
    main_fd, child_fd = pty.openpty()  # cwd: not the checkout, so the installed package runs
    env = dict(os.environ, COLUMNS="80", LINES="40")
    proc = subprocess.Popen([sys.executable, "-m", "analyzer.cli", "query", TRIALS_SQL, "--db", store],
                            stdin=child_fd, stdout=child_fd, stderr=child_fd, cwd=Path(store).parent, env=env)
    os.close(child_fd)
    chunks = []
    while True:
        try:
            chunk = os.read(main_fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert proc.wait(timeout=60) == 0
    os.close(main_fd)
    lines = b"".join(chunks).decode("utf-8").replace("\r\n", "\n").splitlines()
    assert lines and max(map(text_width, lines)) == 80
    assert "\n".join(lines) + "\n" == (GOLDEN / "table_80.txt").read_text(encoding="utf-8")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_stdout_is_one_error_line_and_a_closed_pipe_is_quiet(store):
    cmd = [sys.executable, "-m", "analyzer.cli", "query", "select * from range(100000)", "--db", store, "--format", "csv"]
    with open("/dev/full", "w") as full:
        result = subprocess.run(cmd, stdout=full, stderr=subprocess.PIPE, text=True, cwd=Path(store).parent, timeout=120)
    assert result.returncode == 1
    assert result.stderr == "Error: could not write the result to stdout: No space left on device\n"
    head = subprocess.run(f"{' '.join(map(repr, cmd))} | head -1", shell=True, capture_output=True,
                          text=True, cwd=Path(store).parent, timeout=120, executable="/bin/bash")
    assert head.stdout == "range\n" and head.stderr == ""
