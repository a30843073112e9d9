"""Noodle 2's own classifier tests, replayed through `analyzer ingest` + `analyzer classify`.

`tests/conformance/noodle2-cases.json` is copied verbatim from the shared material (its `_about`
names the Noodle 2 commit). Every `classify` case becomes a Noodle 2 trial directory exactly as
its `how_to_replay` says; all cases go through ONE ingest and ONE classify. A case is scored when
it asserts a failure type (`failure_type`, `failure_type_in`, `failure_type_not`) or a memory
suggestion, and can be replayed (the 7 cases that pass `expected_outputs` cannot: how_to_replay
writes no record of expected outputs, and a real Noodle 2 executor never passes them). Where analyzer answers otherwise on purpose, `tests/conformance/deviations.toml`
says what analyzer answers and why; every other scored case must agree, and agreement over all
scored cases must stay >= 95 %.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from .conftest import ingest_and_classify, query_rows

HERE = Path(__file__).parent / "conformance"
DOC = json.loads((HERE / "noodle2-cases.json").read_text(encoding="utf-8"))
CLASSIFY = [c for c in DOC["cases"] if c["kind"] == "classify"]
# expected_outputs are not part of how_to_replay: nothing on disk says an output was expected
REPLAYABLE = [c for c in CLASSIFY if "expected_outputs" not in c]
DEVIATIONS = {d["id"]: d for d in tomllib.loads((HERE / "deviations.toml").read_text(encoding="utf-8"))["deviation"]}
TYPE_KEYS = ("failure_type", "failure_type_in", "failure_type_not")
SCORED = [c for c in REPLAYABLE if any(k in c["expected"] for k in (*TYPE_KEYS, "suggested_memory_mb"))]
AGREEMENT = 0.95


def _summary(case: dict, index: int) -> dict:
    """trial_summary.json as how_to_replay describes it."""
    rc = case["return_code"]
    doc = {"study_name": "conformance", "case_name": f"case_{index}", "stage_index": 0,
           "trial_index": index, "return_code": rc, "success": rc == 0, "timed_out": rc == 124}
    if case.get("peak_memory_mb") is not None:
        doc["peak_memory_mb"] = case["peak_memory_mb"]
    if case.get("memory_limit_mb") is not None and rc != 0:
        doc["failure"] = {"metrics": {"memory_limit_mb": case["memory_limit_mb"]}}
    return doc


def _trial_dir(index: int) -> str:
    return f"case_{index}/stage_0/trial_{index}"


def replay(root: Path, cases: list[dict]) -> None:
    """Write each case as stage_0/trial_K of its own Noodle 2 case directory under one study."""
    for i, case in enumerate(cases):
        trial = root / "conformance" / _trial_dir(i)
        (trial / "logs").mkdir(parents=True)
        (trial / "trial_summary.json").write_text(json.dumps(_summary(case, i)))
        (trial / "logs" / "stdout.txt").write_text(case["stdout"], encoding="utf-8")
        (trial / "logs" / "stderr.txt").write_text(case["stderr"], encoding="utf-8")


def agrees(case: dict, got: dict) -> bool:
    """Does analyzer's answer satisfy what the Noodle 2 test asserts (type and suggestion)?"""
    exp, ftype = case["expected"], got["failure_type"]
    ok = True
    if "failure_type" in exp:
        ok &= ftype == exp["failure_type"]
    if "failure_type_in" in exp:
        ok &= ftype in exp["failure_type_in"]
    if "failure_type_not" in exp:
        ok &= ftype is not None and ftype not in exp["failure_type_not"]
    if "suggested_memory_mb" in exp:
        want, have = exp["suggested_memory_mb"], got["suggested_memory_mb"]
        ok &= (want is None and have is None) or (want is not None and have is not None
                                                   and abs(have - want) < 0.5)
    return bool(ok)


@pytest.fixture(scope="module")
def answers(tmp_path_factory) -> dict[str, dict]:
    """case id -> failure_type (None = success) and suggested_memory_mb, from one ingest + classify."""
    from click.testing import CliRunner

    runner = CliRunner()
    root = tmp_path_factory.mktemp("noodle2")
    replay(root / "studies", CLASSIFY)
    db = str(root / "conformance.duckdb")
    ingest_and_classify(runner, root / "studies", db)
    rows = query_rows(runner, db, """
        select t.trial_id, f.failure_type, m.suggested_memory_mb
        from trials t left join failures f using (trial_id) left join memory m using (trial_id)""")
    by_dir = {r["trial_id"].split("/", 1)[1]: r for r in rows}
    assert len(by_dir) == len(CLASSIFY)
    return {case["id"]: by_dir[_trial_dir(i)] for i, case in enumerate(CLASSIFY)}


def test_the_copy_keeps_its_source_and_every_deviation_names_a_scored_case():
    assert "yye00/noodle2" in DOC["_about"]["source"]
    scored_ids = {c["id"] for c in SCORED}
    for dev in DEVIATIONS.values():
        assert dev["id"] in scored_ids, dev["id"]
        assert dev["why"].strip() and "analyzer" in dev


def test_agreement_with_noodle2_is_at_least_95_percent(answers):
    agree = [c["id"] for c in SCORED if agrees(c, answers[c["id"]])]
    undeclared = [(c["id"], answers[c["id"]]["failure_type"], c["expected"]) for c in SCORED
                  if c["id"] not in agree and c["id"] not in DEVIATIONS]
    assert not undeclared, "disagreements not listed in deviations.toml:\n" + "\n".join(map(str, undeclared))
    assert len(agree) / len(SCORED) >= AGREEMENT, f"{len(agree)}/{len(SCORED)}"


@pytest.mark.parametrize("dev", list(DEVIATIONS.values()), ids=list(DEVIATIONS))
def test_each_deviation_is_answered_as_declared(dev, answers):
    """A deviation documents analyzer's real answer; a stale entry fails here."""
    got = answers[dev["id"]]
    assert got["failure_type"] == (dev["analyzer"] or None), got


def test_every_failure_noodle2_asserts_is_a_failure(answers):
    """`is_failure` cases: analyzer must at least see a failure (success would hide it)."""
    missed = [c["id"] for c in REPLAYABLE if c["expected"].get("is_failure")
              and answers[c["id"]]["failure_type"] is None and c["id"] not in DEVIATIONS]
    assert not missed


CONTAINMENT = [c for c in DOC["cases"] if c["kind"] == "containment"
               and any(k in c for k in ("expected_contained_classes", "expected_contained_includes",
                                        "expected_allowed_includes", "expected_blocked_count"))]


def _contained(case: dict) -> set[str]:
    """Replay one containment case with classify's own containment step (Polars frames: the
    case gives failure types, not logs, so there is nothing to ingest)."""
    from datetime import datetime, timedelta

    import polars as pl

    from analyzer.classify import containment
    from analyzer.rules import load_rules

    flags = {r["failure_type"]: r["catastrophic"] for r in load_rules().types_frame().iter_rows(named=True)}
    start = datetime(2026, 1, 1)
    trials = pl.DataFrame([{"trial_id": f"t{i}", "study": "s", "eco_class": t.get("eco_class"),
                            "started_at": start + timedelta(minutes=i), "finished_at": None,
                            "stage_index": 0, "trial_index": i} for i, t in enumerate(case["trials"])],
                          schema={"trial_id": pl.String, "study": pl.String, "eco_class": pl.String,
                                  "started_at": pl.Datetime("us"), "finished_at": pl.Datetime("us"),
                                  "stage_index": pl.Int64, "trial_index": pl.Int64})
    failed = [{"trial_id": f"t{i}", "failure_type": t["failure"]["failure_type"],
               "catastrophic": flags.get(t["failure"]["failure_type"], False)
               or t["failure"].get("severity") == "critical"}
              for i, t in enumerate(case["trials"]) if t.get("failure")]
    failures = pl.DataFrame(failed, schema={"trial_id": pl.String, "failure_type": pl.String,
                                            "catastrophic": pl.Boolean})
    logged = [(f"t{i}", t) for i, t in enumerate(case["trials"]) if "return_code" in t]
    if logged:  # trials given as exit code + logs: analyzer classifies them itself
        failures = pl.concat([failures, _classified(logged)])
    return set(containment(trials.lazy(), failures.lazy()).collect()["eco_class"].to_list())


def _classified(logged: list[tuple[str, dict]]):
    """classify's own frames step on trials given as return code + stdout/stderr."""
    import polars as pl

    from analyzer.classify import classify_frames
    from analyzer.rules import load_rules

    trials = pl.DataFrame([{"trial_id": tid, "study": "s", "eco_name": None, "eco_class": t.get("eco_class"),
                            "eco_class_source": "trial", "exit_code": t["return_code"],
                            "timed_out": t["return_code"] == 124, "oom_killed": None, "oom_kill_events": None,
                            "peak_memory_mb": None, "memory_limit_mb": None, "started_at": None,
                            "finished_at": None, "stage_index": 0, "trial_index": int(tid[1:]),
                            "runtime_seconds": None, "crashed_before_dir": False} for tid, t in logged],
                          schema_overrides={"eco_name": pl.String, "oom_killed": pl.Boolean,
                                            "oom_kill_events": pl.Int64, "peak_memory_mb": pl.Float64,
                                            "memory_limit_mb": pl.Float64, "started_at": pl.Datetime("us"),
                                            "finished_at": pl.Datetime("us"), "runtime_seconds": pl.Float64})
    lines = pl.DataFrame([{"trial_id": tid, "stream": stream, "line_no": n, "text": text, "is_tail": True}
                          for tid, t in logged for stream in ("stdout", "stderr")
                          for n, text in enumerate(t.get(stream, "").splitlines(), 1)],
                         schema={"trial_id": pl.String, "stream": pl.String, "line_no": pl.Int64,
                                 "text": pl.String, "is_tail": pl.Boolean})
    result = classify_frames(trials.lazy(), lines.lazy(), load_rules())
    return result.failures.select("trial_id", "failure_type", "catastrophic")


@pytest.mark.parametrize("case", CONTAINMENT, ids=[c["id"] for c in CONTAINMENT])
def test_containment_case_replays(case):
    got = _contained(case)
    if "expected_contained_classes" in case:
        assert got == set(case["expected_contained_classes"])
    assert set(case.get("expected_contained_includes", [])) <= got
    assert not set(case.get("expected_allowed_includes", [])) & got
    if "expected_blocked_count" in case:
        assert len(got) == case["expected_blocked_count"]


@pytest.mark.parametrize("case", [c for c in DOC["cases"] if c["kind"] == "is_catastrophic"],
                         ids=lambda c: c["id"])
def test_is_catastrophic_matches_noodle2(case):
    from analyzer.rules import load_rules

    flags = {r["failure_type"]: r["catastrophic"] for r in load_rules().types_frame().iter_rows(named=True)}
    assert flags[case["failure"]["failure_type"]] == case["expected_catastrophic"]
