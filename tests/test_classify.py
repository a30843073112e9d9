"""Classification: Noodle 2's known misreadings, pure Polars steps, rules files, re-classification."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analyzer.classify import containment, study_verdicts
from analyzer.rules import check_rules, load_rules

from .conftest import ingest_and_classify, invoke, make_generic_trial, query_rows

# spec/classification.md "Known Noodle 2 misreadings": (name, exit code, stderr, expected type)
MISREADINGS = [
    ("no_room", "1", "[ERROR DPL-0036] Detailed placement failed.\nno room left in row 12\n", "placement_failed"),
    ("zoom", "1", "zoom_to 0 0 100 100\n[ERROR GUI-0010] no display\n", "tool_crash"),
    # ODB-0100 is "netlist component-pin ... is not defined" in OpenROAD's message catalog
    ("bloom", "1", "read_db bloom_filter_top.odb\n[ERROR ODB-0100] bad header\n", "configuration_error"),
    # ORD-0001 is "$filename does not exist." in OpenROAD's message catalog
    ("unskilled", "1", "link_design unskilled_cell_mapping\n[ERROR ORD-0001] failed\n", "configuration_error"),
    ("signal_95", "1", "net signal 95 has no driver\n", "tool_crash"),
    ("hard_timeout_with_oom", "124", "\n[HARD_TIMEOUT] Trial exceeded hard timeout limit of 3600 seconds\n"
                                     "write_db bloom_oom_top.odb\nKilled\n", "timeout"),
    ("set_timeout", "1", "set_timeout 30\n[ERROR STA-0450] unknown clock\n", "sta_failed"),
    ("missing_input", "1", 'couldn\'t read file "/snapshot/design.v": no such file or directory\n', "configuration_error"),
    ("nangate_routing_layer", "1", "[ERROR GRT-0067] Layer metal11 not found (routing layer).\n", "routing_failed"),
]


@pytest.fixture
def classified(runner, tmp_path, db):
    root = tmp_path / "misread"
    for name, code, text, _ in MISREADINGS:
        make_generic_trial(root, name, code, stderr=text)
    ingest_and_classify(runner, root, db)
    return {r["id"]: r for r in query_rows(runner, db, "select split_part(trial_id, '/', 2) id, failure_type, "
                                                       "catastrophic, reason from failures")}


@pytest.mark.parametrize("name,expected", [(m[0], m[3]) for m in MISREADINGS])
def test_noodle2_misreadings_are_not_repeated(classified, name, expected):
    assert classified[name]["failure_type"] == expected, classified[name]["reason"]


def test_missing_input_does_not_contain_a_class(classified):
    assert classified["missing_input"]["catastrophic"] is False


def test_errors_in_a_passing_trial_are_not_a_failure(runner, tmp_path, db):
    root = tmp_path / "ok"
    make_generic_trial(root, "t", "0", stdout="[ERROR GRT-0116] Global routing finished with congestion.\nKilled\n")
    ingest_and_classify(runner, root, db)
    assert query_rows(runner, db, "select outcome from trials") == [{"outcome": "success"}]
    assert query_rows(runner, db, "select count(*) n from failure_evidence")[0]["n"] == 0


def test_oomkilled_with_exit_0_is_a_success_with_oom_evidence(runner, tmp_path, db):
    root = tmp_path / "ok"
    make_generic_trial(root, "t", "0", **{"docker_inspect.json": '{"OOMKilled": true, "ExitCode": 0}'})
    ingest_and_classify(runner, root, db)
    assert query_rows(runner, db, "select outcome from trials") == [{"outcome": "success"}]
    assert query_rows(runner, db, "select signal, confidence from failure_evidence") == [
        {"signal": "docker_oom_killed", "confidence": "confirmed"}]


def test_sigkill_near_limit_is_strong_and_memory_view_suggests(runner, tmp_path, db):
    root = tmp_path / "s"
    make_generic_trial(root, "near", "137", **{"memory.peak": str(8100 << 20), "memory.max": str(8192 << 20)})
    make_generic_trial(root, "far", "137", **{"memory.peak": str(7700 << 20), "memory.max": str(8192 << 20)})
    make_generic_trial(root, "nopeak", "137", **{"trial.json": '{"memory_limit": "8g"}'})
    ingest_and_classify(runner, root, db)
    rows = {r["id"]: r for r in query_rows(runner, db, """
        select split_part(m.trial_id, '/', 2) id, f.confidence, m.usage_ratio, m.suggested_memory_mb,
               m.suggested_memory_limit, m.suggestion_kind
        from memory m join failures f using (trial_id)""")}
    assert rows["near"]["confidence"] == "strong"
    assert (rows["near"]["suggestion_kind"], rows["near"]["suggested_memory_mb"], rows["near"]["suggested_memory_limit"]) \
        == ("suggest", 12288.0, "12g")
    assert rows["far"]["confidence"] == "probable" and rows["far"]["suggestion_kind"] is None  # 94 %: no suggestion
    assert (rows["nopeak"]["suggestion_kind"], rows["nopeak"]["suggested_memory_limit"]) == ("consider", "12g")


def _trials(rows: list[tuple]) -> pl.LazyFrame:
    return pl.LazyFrame(rows, schema={"trial_id": pl.String, "study": pl.String, "eco_class": pl.String,
                                      "started_at": pl.Datetime("us"), "finished_at": pl.Datetime("us"),
                                      "stage_index": pl.Int32, "trial_index": pl.Int32}, orient="row")


def test_containment_replay_counts_trials_before_and_after():
    t = lambda h: datetime(2026, 1, 1, h)  # noqa: E731
    trials = _trials([
        ("s/a", "s", "placement_local", t(1), t(2), 0, 1),
        ("s/b", "s", "placement_local", t(2), t(3), 0, 2),   # first catastrophic: contains the class
        ("s/c", "s", "routing_affecting", t(3), t(4), 0, 3),
        ("s/d", "s", "placement_local", t(4), t(5), 1, 1),   # ran after containment
        ("s/e", "s", "placement_local", t(5), t(6), 1, 2),   # a second catastrophic failure
    ])
    failures = pl.LazyFrame({"trial_id": ["s/b", "s/c", "s/e"],
                             "failure_type": ["out_of_memory", "timeout", "segfault"],
                             "catastrophic": [True, False, True]})
    got = containment(trials, failures).collect()
    expected = pl.DataFrame({
        "study": ["s"], "eco_class": ["placement_local"], "trigger_trial_id": ["s/b"],
        "trigger_failure_type": ["out_of_memory"], "contained_at": [t(2)],
        "trials_before": [1], "trials_after": [2], "trials_after_ids": [["s/d", "s/e"]],
    }, schema_overrides={"contained_at": pl.Datetime("us")})
    assert_frame_equal(got, expected)
    per_study = study_verdicts(trials, failures).collect()
    assert per_study.row(0, named=True) | {} == {
        "study": "s", "first_oom_trial_id": "s/b", "first_oom_at": t(2),
        "continued_after_first_oom": True, "trials_after_first_oom": 3}


def test_rules_check_names_the_bad_rule_and_field(runner, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('version = "1"\n[[rules]]\nid = "my_rule"\ntype = "out_of_memory"\npattern = "(unclosed"\n'
                   'streams = ["stdout", "syslog"]\n')
    result = invoke(runner, "rules", "check", str(bad))
    assert result.exit_code == 1
    assert "rule my_rule.confidence: out_of_memory rules need one of confirmed, strong, probable" in result.stderr
    assert "rule my_rule.streams: must be a list drawn from stdout, stderr, kernel, time" in result.stderr
    assert "rule my_rule.pattern: not a valid regex" in result.stderr
    assert check_rules(tmp_path / "bad.toml")


def test_user_rule_reclassifies_history_from_the_store_alone(runner, tmp_path, db):
    root = tmp_path / "hist"
    make_generic_trial(root, "t", "1", stderr="[ERROR XYZ-0042] license checkout failed\n")
    ingest_and_classify(runner, root, db)
    assert query_rows(runner, db, "select failure_type from failures") == [{"failure_type": "tool_crash"}]
    import shutil
    shutil.rmtree(root)  # the artifacts are gone; the store is all that is left
    rules = tmp_path / "site.toml"
    rules.write_text('version = "site-1"\n[[rules]]\nid = "license"\ntype = "resource_busy"\nprecedence = 15\n'
                     "pattern = '''license checkout failed'''\n")
    assert invoke(runner, "rules", "check", str(rules)).exit_code == 0
    assert invoke(runner, "classify", "--db", db, "--rules", str(rules), "-q").exit_code == 0
    assert query_rows(runner, db, "select failure_type, transient, rules_version from failures") == [
        {"failure_type": "resource_busy", "transient": True, "rules_version": f"{load_rules().version}+site-1"}]


def test_every_named_query_runs_on_the_sample(runner, shared_sample, db):
    shared_sample.store(db, "--default-memory-limit", "8g")
    before = Path(db).read_bytes()
    names = [line.split("\t")[0] for line in invoke(runner, "query", "--list").stdout.splitlines()]
    assert {"disagreements", "near_limit", "oom_by_eco_class"} <= set(names)
    for name in names:
        result = invoke(runner, "query", "--name", name, "--db", db, "--format", "json")
        assert result.exit_code == 0, (name, result.stderr)
    assert Path(db).read_bytes() == before  # named queries write nothing, not even a WAL checkpoint
    assert query_rows(runner, db, "select count(*) n from trials") == [{"n": 112}]
    disagreements = invoke(runner, "query", "--name", "disagreements", "--db", db, "--format", "csv").stdout
    assert "tool_missing,configuration_error" in disagreements
