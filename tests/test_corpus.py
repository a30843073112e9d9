"""The real-log corpus (tests/corpus/cases.toml): every verdict through ingest + classify."""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import pytest

from .conftest import ingest_and_classify, make_generic_trial, query_rows

CASES = tomllib.loads((Path(__file__).parent / "corpus" / "cases.toml").read_text(encoding="utf-8"))["case"]


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory) -> dict[str, dict]:
    from click.testing import CliRunner

    runner = CliRunner()
    root = tmp_path_factory.mktemp("corpus") / "corpus"
    for case in CASES:
        make_generic_trial(root, case["id"], f"{case['exit_code']}\n", stderr=case["text"].lstrip("\n"))
    db = str(root.parent / "corpus.duckdb")
    ingest_and_classify(runner, root, db)
    rows = query_rows(runner, db, """
        select split_part(t.trial_id, '/', 2) as id, t.outcome, f.failure_type, f.confidence, f.reason
        from trials t left join failures f using (trial_id)""")
    return {r["id"]: r for r in rows}


def test_corpus_is_large_enough_and_sourced():
    assert len(CASES) >= 40
    assert all(c["source"] for c in CASES)
    families = Counter(c["family"] for c in CASES)
    assert families["out_of_memory"] >= 15 and sum(c.get("not_oom", False) for c in CASES) >= 8


def _param(case: dict):
    """A case analyzer still gets wrong carries `known_miss = "why"`: it runs as a strict xfail, so
    fixing it (or breaking it differently) is noticed."""
    marks = [pytest.mark.xfail(reason=case["known_miss"], strict=True)] if case.get("known_miss") else []
    return pytest.param(case, id=case["id"], marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_real_log_verdict(case, verdicts):
    got = verdicts[case["id"]]
    if case["expect"] == "success":
        assert got["outcome"] == "success", got
    else:
        assert got["failure_type"] == case["expect"], got["reason"]
    if "confidence" in case:
        assert got["confidence"] == case["confidence"], got["reason"]
    if case.get("not_oom"):
        assert got["failure_type"] != "out_of_memory"
