"""Classify's prefilter: one alternation of every rule keeps the lines a rule can match, and the
classification it gives is the classification without it."""

from __future__ import annotations

import tomllib

import polars as pl
from polars.testing import assert_frame_equal

from analyzer import classify
from analyzer.jobs import classify_stored
from analyzer.resources import rules_path
from analyzer.rules import load_rules
from analyzer.store import open_store

from .conftest import ingest_and_classify, invoke, make_generic_trial, query_rows


def _shipped_lines() -> list[str]:
    """Every example and counter-example line of the shipped rules file."""
    doc = tomllib.loads(rules_path().read_text(encoding="utf-8"))
    return [line for rule in doc["rules"] for key in ("examples", "counter_examples") for line in rule.get(key, [])]


def test_the_alternation_matches_exactly_the_lines_some_rule_matches():
    rules = load_rules()
    union, unsafe = classify.candidate_pattern(rules)
    assert union is not None and not unsafe
    lines = pl.Series("text", [*_shipped_lines(), "Number of DRC errors: 44", "[INFO GRT-0001] ok", "", "ÄÖ signal"])
    assert len(lines) > 90
    any_rule = pl.Series([False] * len(lines))
    for pattern in [r.regex for r in rules.rules] + [c.regex for c in rules.catalogs]:
        any_rule = any_rule | lines.str.contains(pattern)
    assert any_rule.any() and not any_rule.all()
    assert lines.str.contains(union).to_list() == any_rule.to_list()


def test_a_successful_trial_keeps_only_lines_a_success_rule_matches():
    rules = load_rules()
    lines = pl.LazyFrame({
        "trial_id": ["ok", "ok", "ok", "bad", "bad"],
        "stream": ["stdout", "kernel", "stdout", "stdout", "stdout"],
        "line_no": [1, 2, 3, 1, 2],
        "text": ["Segmentation fault (core dumped)", "Out of memory: Killed process 42 (openroad)",
                 "done", "Segmentation fault (core dumped)", "last words"],
        "is_tail": [False, False, True, False, True],
    })
    kept = classify.relevant_lines(lines, pl.Series(["bad"]), rules).collect()
    assert kept.select("trial_id", "line_no").rows() == [("ok", 2), ("bad", 1), ("bad", 2)]


def test_classification_is_the_same_without_the_prefilter(shared_sample, tmp_path, monkeypatch):
    db = shared_sample.store(tmp_path / "s.duckdb")
    rules = load_rules()
    with open_store(db, read_only=True) as store:
        fast = classify_stored(store, rules)
        # no alternation: every rule scans every kept line, the way classify worked before
        monkeypatch.setattr(classify, "candidate_pattern", lambda rules, failed=True: (None, frozenset()))
        slow = classify_stored(store, rules)
    assert fast.failures.height > 10 and fast.evidence.height > fast.failures.height
    for name in ("verdicts", "failures", "evidence"):
        assert_frame_equal(getattr(fast, name), getattr(slow, name))
    # replay's joins do not keep row order (with or without the prefilter)
    for name in ("containment", "studies"):
        assert_frame_equal(getattr(fast, name), getattr(slow, name), check_row_order=False)


def test_a_verbose_rule_with_a_comment_runs_outside_the_alternation(runner, tmp_path, db):
    root = tmp_path / "hist"
    noise = "".join(f"[INFO DRT-0199] Number of violations = {i}.\n" for i in range(50))
    make_generic_trial(root, "t", "1", stderr=noise + "license   checkout failed\n")
    rules = tmp_path / "site.toml"
    rules.write_text('version = "site-1"\n[[rules]]\nid = "license"\ntype = "resource_busy"\nprecedence = 1\n'
                     "pattern = '''(?x) license \\s+ checkout \\s+ failed  # a comment swallows the rest'''\n")
    assert invoke(runner, "rules", "check", str(rules)).exit_code == 0
    union, unsafe = classify.candidate_pattern(load_rules(str(rules)))
    assert union is not None and len(unsafe) == 1 and "license" not in union
    ingest_and_classify(runner, root, db)
    assert invoke(runner, "classify", "--db", db, "--rules", str(rules), "-q").exit_code == 0
    assert query_rows(runner, db, "select failure_type from failures") == [{"failure_type": "resource_busy"}]
    evidence = query_rows(runner, db, "select signal, text from failure_evidence where signal = 'license'")
    assert evidence == [{"signal": "license", "text": "license   checkout failed"}]
