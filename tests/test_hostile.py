"""A hostile study: good trials mixed with one instance of every class of bad input from issue #8,
ingested through the CLI. Nothing hangs, nothing crashes, nothing is lost, nothing outside the
root is read, and the report still renders."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest

from .conftest import invoke, make_generic_trial, query_rows

GOOD_STDERR = "[ERROR GRT-0116] Global routing finished with congestion.\n"


def _summary(study: str, case: str, stage: int, trial: int, **extra: object) -> str:
    doc = {"study_name": study, "case_name": case, "stage_index": stage, "trial_index": trial,
           "return_code": 0, "start_time": "2026-11-27T01:00:00Z", "end_time": "2026-11-27T01:10:00Z",
           "peak_memory_mb": 1234.5, "metadata": {"eco_type": "buffer_insertion"}}
    doc.update(extra)
    return json.dumps(doc)


def noodle2_trial(output: Path, study: str, trial: int, text: str | None = None, **files: str | bytes) -> Path:
    path = output / study / "case_a" / "stage_0" / f"trial_{trial}"
    path.mkdir(parents=True, exist_ok=True)
    (path / "trial_summary.json").write_text(text if text is not None else _summary(study, "case_a", 0, trial))
    for name, content in files.items():
        (path / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def build_hostile_root(base: Path) -> tuple[Path, dict[str, str]]:
    """The root, and for each class of bad input the trial folder name that carries it."""
    root = base / "study"
    classes: dict[str, str] = {}
    for i in range(5):
        make_generic_trial(root, f"good_{i}", "0", stdout="done\n", stderr=GOOD_STDERR)

    def trial(cls: str, name: str, exit_code: str | None = "1", **files: str | bytes) -> Path:
        classes[cls] = name
        return make_generic_trial(root, name, exit_code, stdout="x\n", **files)

    trial("windows_exit_code", "win_exit", "3221225477")
    trial("huge_int", "huge_int", **{"trial.json": json.dumps({"stage": 2 ** 70, "trial": 3, "case": "c"})})
    trial("wrong_json_types", "wrong_types", **{"trial.json": json.dumps(
        {"case": [1, 2], "eco_name": {"x": 1}, "started_at": 5, "command": ["make"], "stage": "one"})})
    trial("epoch_ms_and_out_of_range_time", "times", **{"trial.json": json.dumps(
        {"started_at": 1764205200000, "finished_at": "9999-12-31T00:00:00Z"})})
    trial("1e400_size", "inf_size", **{"trial.json": '{"memory_limit": 1e400, "timeout_seconds": 1e400}'})
    trial("nan_infinity_negative_peaks", "nan_peaks", **{
        "docker_stats.jsonl": '{"read": "2026-11-27T01:00:00Z", "memory_stats": {"usage": NaN, "limit": Infinity}}\n'
                              '{"read": "2026-11-27T01:00:01Z", "memory_stats": {"usage": -5, "limit": 1e400, "max_usage": 1e300}}\n',
        "memory.peak": "-42\n", "memory.max": str(2 ** 70) + "\n"})
    trial("deep_json", "deep_json", **{"docker_inspect.json": "[" * 200_000 + "]" * 200_000})
    trial("huge_digits", "huge_digits", **{"docker_inspect.json": '{"State": {"ExitCode": ' + "9" * 5000 + "}}"})
    trial("yaml_alias_bomb", "alias_bomb", **{"config.yaml": _ALIAS_BOMB})
    fifo = trial("fifo", "fifo", stderr=GOOD_STDERR)
    os.unlink(fifo / "stdout")
    os.mkfifo(fifo / "stdout")
    sock = trial("socket", "socket")
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(sock / "docker_stats.json"))
    s.close()
    dev = trial("dev_zero", "dev_zero")
    (dev / "stderr").symlink_to("/dev/zero")
    outside = trial("symlink_file_outside_root", "link_out")
    os.unlink(outside / "stdout")
    (outside / "stdout").symlink_to("/etc/passwd")
    classes["symlink_dir_outside_root"] = "usr_link"
    (root / "usr_link").symlink_to("/usr", target_is_directory=True)
    classes["symlink_loop"] = "loop"
    (root / "loop").symlink_to(root, target_is_directory=True)
    classes["dangling_symlink"] = "dangling"
    dangling = trial("dangling_symlink", "dangling")
    (dangling / "stderr").symlink_to(root / "nowhere")
    # a non-UTF-8 directory name (bytes that are not UTF-8 on a POSIX file system)
    classes["non_utf8_dir_name"] = "bad\\xff"
    bad = os.path.join(os.fsencode(root), b"bad\xff")
    os.mkdir(bad)
    with open(os.path.join(bad, b"exit_code"), "w") as fh:
        fh.write("2")
    with open(os.path.join(bad, b"stderr"), "w") as fh:
        fh.write("Error: something failed\n")
    # Noodle 2 trial summaries with bad values
    output = root / "output"
    noodle2_trial(output, "n2", 0)
    classes["summary_wrong_types"] = "trial_1"
    noodle2_trial(output, "n2", 1, json.dumps({"study_name": ["n2"], "case_name": 7, "stage_index": 0,
                                               "trial_index": 1, "return_code": "zero", "metadata": 5,
                                               "failure": [1], "provenance": "x", "peak_memory_mb": -3}))
    classes["summary_absurd"] = "trial_2"
    noodle2_trial(output, "n2", 2, '{"study_name": "n2", "stage_index": 0, "trial_index": 2, '
                                   '"return_code": 3221225477, "peak_memory_mb": 1e400, '
                                   '"runtime_seconds": NaN, "start_time": 1e20, "end_time": -1}')
    # study-level files with bad values (Noodle 2 telemetry and event stream)
    classes["study_files_bad_values"] = "n2"
    (output / "n2" / "study_telemetry.json").write_text(json.dumps(
        {"study_name": "n2", "safety_domain": ["x"], "aborted": "yes", "start_time": 1e20}))
    (output / "n2" / "event_stream.ndjson").write_text(
        json.dumps({"event_type": "trial_started", "timestamp": "yesterday",
                    "event_data": {"stage_index": 2 ** 70, "case_name": {"a": 1}}}) + "\n"
        + "[" * 100_000 + "\n" + '{"event_type": "ok", "timestamp": "2026-11-27T01:00:00Z"}\n')
    return root, classes


# 351 bytes: nine levels of nine aliases, a billion nodes if expanded
_ALIAS_BOMB = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


@pytest.fixture
def hostile(tmp_path):
    return build_hostile_root(tmp_path)


def test_hostile_study_ingests_completely_within_seconds(runner, hostile, db, tmp_path):
    root, classes = hostile
    started = time.monotonic()
    result = invoke(runner, "ingest", str(root), "--db", db)
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert elapsed < 20, f"ingest took {elapsed:.1f}s"

    trials = {r["trial_id"]: r for r in query_rows(runner, db, "select * from trials")}
    names = {tid.split("/")[-1] for tid in trials}
    # every trial is kept: 5 good, every generic hostile trial, the non-UTF-8 one, 3 Noodle 2 trials
    for i in range(5):
        assert f"good_{i}" in names
    for cls, name in classes.items():
        if cls not in ("symlink_dir_outside_root", "symlink_loop", "study_files_bad_values"):
            assert name in names, f"{cls}: trial {name} was lost"
    by_name = {tid.split("/")[-1]: r for tid, r in trials.items()}
    # values: the good one is kept exactly, the bad one is dropped
    assert by_name["win_exit"]["exit_code"] == 3221225477
    assert by_name["huge_int"]["stage_index"] is None and by_name["huge_int"]["trial_index"] == 3
    assert by_name["wrong_types"]["case_name"] is None and by_name["wrong_types"]["exit_code"] == 1
    assert by_name["times"]["started_at"].startswith("2025-11-27")  # epoch milliseconds
    assert by_name["times"]["finished_at"] is None
    assert by_name["inf_size"]["memory_limit_mb"] is None
    assert by_name["nan_peaks"]["peak_memory_mb"] is None
    assert by_name["trial_2"]["exit_code"] == 3221225477 and by_name["trial_2"]["peak_memory_mb"] is None
    assert by_name["trial_1"]["study"] == "n2" and by_name["trial_1"]["case_name"] == "7"
    samples = query_rows(runner, db, "select usage_bytes, limit_bytes from memory_samples")
    assert all(v is None or 0 <= v < 2 ** 60 for s in samples for v in s.values())

    errors = query_rows(runner, db, "select path, error from ingest_errors")
    text = "\n".join(f"{e['path']}: {e['error']}" for e in errors)
    for needle in ("nested too deeply", "aliases", "a FIFO", "a socket", "leaves the ingest root (-> /etc/passwd)",
                   "leaves the ingest root (-> /usr)", "leaves the ingest root (-> /dev/zero)", "symlink loop",
                   "dangling symbolic link", "stage_index: 1180591620717411303424 is out of range",
                   "case_name: expected text, found a JSON list", "finished_at:", "not a plausible memory",
                   "4300"):
        assert needle in text, f"no ingest_errors row mentions {needle!r}:\n{text}"
    # every problem is also one warning line on stderr naming the file
    for e in errors:
        assert f"warning: {e['path']}: {e['error']}" in result.stderr
    # nothing outside the root was read or stored
    stored = query_rows(runner, db, "select text from trial_log_lines")
    assert not any("root:x:0:0" in r["text"] for r in stored)
    assert all(r["trial_dir"].startswith(str(root)) for r in trials.values())
    assert any("bad\\xff" in r["trial_dir"] for r in trials.values())

    studies = query_rows(runner, db, "select study from studies where study = 'n2'")
    assert studies == [{"study": "n2"}]
    for needle in ("safety_domain: expected text", "aborted: expected true/false", "telemetry_started_at:",
                   "stage_index: 1180591620717411303424 is out of range", "1 line(s) are not valid JSON"):
        assert needle in text, f"no ingest_errors row mentions {needle!r}:\n{text}"
    events = query_rows(runner, db, "select count(*) n from trials")  # the store is whole
    assert events[0]["n"] >= len(trials)

    # classify, report and a second ingest all work on what was kept
    assert invoke(runner, "classify", "--db", db, "-q").exit_code == 0
    out = tmp_path / "report.html"
    rendered = invoke(runner, "report", "--db", db, "--out", str(out), "-q")
    assert rendered.exit_code == 0, rendered.output
    assert out.stat().st_size > 1000
    again = invoke(runner, "ingest", str(root), "--db", db)
    assert again.exit_code == 0 and "0 read" in again.stderr


def test_two_roots_with_the_same_folder_name_keep_both(runner, tmp_path, db):
    for night in ("night1", "night2"):
        noodle2_trial(tmp_path / night / "output", "study", 0)
        make_generic_trial(tmp_path / night / "output", "t1", "0", stdout="x\n")
    one = invoke(runner, "ingest", str(tmp_path / "night1" / "output"), str(tmp_path / "night2" / "output"),
                 "--db", db, "-q")
    assert one.exit_code == 0, one.output
    rows = query_rows(runner, db, "select trial_id, trial_dir from trials order by trial_dir")
    assert len(rows) == 4 and len({r["trial_id"] for r in rows}) == 4
    # stable: a new store ingesting night1 alone gives night1 the plain ids; re-runs never change ids
    again = invoke(runner, "ingest", str(tmp_path / "night2" / "output"), "--db", db, "-q")
    assert again.exit_code == 0
    assert query_rows(runner, db, "select trial_id, trial_dir from trials order by trial_dir") == rows
    plain = [r for r in rows if "@" not in r["trial_id"]]
    assert len(plain) == 2 and all("/night1/" in r["trial_dir"] for r in plain)


def test_two_roots_ingested_separately_do_not_replace_each_other(runner, tmp_path, db):
    for night in ("night1", "night2"):
        noodle2_trial(tmp_path / night / "output", "study", 0)
        assert invoke(runner, "ingest", str(tmp_path / night / "output"), "--db", db, "-q").exit_code == 0
    rows = query_rows(runner, db, "select trial_id, trial_dir from trials order by trial_dir")
    assert next(r["trial_id"] for r in rows) == "study/case_a/stage_0/trial_0"
    assert rows[1]["trial_id"].startswith("study/case_a/stage_0/trial_0@")
    assert "night2" in rows[1]["trial_dir"]


@pytest.mark.slow
def test_same_noodle2_study_in_two_nights_keeps_both_and_rerun_is_quiet(runner, tmp_path, db):
    import shutil

    from .conftest import REPO

    roots = []
    for night in ("night1", "night2"):
        shutil.copytree(REPO / "sample_logs" / "noodle2" / "output", tmp_path / night / "output")
        roots.append(str(tmp_path / night / "output"))
    out = str(tmp_path / "r.html")
    first = invoke(runner, "run", *roots, "--db", db, "--out", out, "--fail-on", "any", "-q")
    assert first.exit_code == 6, first.output
    crashed = query_rows(runner, db, "select trial_id, root from trials where crashed_before_dir order by root")
    assert len(crashed) == 2 and "night1" in crashed[0]["root"] and "night2" in crashed[1]["root"]
    assert crashed[1]["trial_id"] == crashed[0]["trial_id"] + crashed[1]["trial_id"][len(crashed[0]["trial_id"]):]
    again = invoke(runner, "run", *roots, "--db", db, "--out", out, "--fail-on", "any", "-q")
    assert again.exit_code == 0, again.output  # nothing changed: no re-alert
    assert query_rows(runner, db, "select trial_id, root from trials where crashed_before_dir order by root") == crashed


def test_a_fifo_or_alias_bomb_given_as_config_does_not_hang(runner, tmp_path, db):
    root = tmp_path / "study"
    make_generic_trial(root, "t1", "0", stdout="ok\n")
    fifo = tmp_path / "study.yaml"
    os.mkfifo(fifo)
    result = invoke(runner, "ingest", str(root), "--db", db, "--config", str(fifo))
    assert result.exit_code == 0 and "a FIFO (named pipe), not a regular file" in result.stderr
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("study:\n  name: x\n" + "\n".join(f"  k{i}: 1" for i in range(3)) + "\n" + _ALIAS_BOMB)
    result = invoke(runner, "ingest", str(root), "--db", db, "--config", str(bomb))
    assert result.exit_code == 0 and "aliases (*name) are not accepted" in result.stderr
