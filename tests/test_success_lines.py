"""Trials that succeeded keep only the lines read from successes; nothing else is lost.

Ingest splits a successful trial's logs into lines only for the shipped rules that apply to
successes (`only_failed = false`), the peaks and the timeout marks (logs.SUCCESS_*); its whole
log is stored. These tests check that everything that reads successes' lines still sees them,
with the ripgrep scanner and with the Polars one.
"""

from __future__ import annotations

import pytest

from analyzer.ingest import rgscan

from .conftest import ingest_and_classify, invoke, make_generic_trial, query_rows

NOISE = "".join(f"step {i}: retry failed, error count {i % 7}\n" for i in range(200))  # candidates
OOM = "Memory cgroup out of memory: Killed process 4242 (openroad) total-vm:1234kB\n"
PEAK = "Elapsed time: 0:12.00[h:]min:s. CPU time: user 1.0 sys 0.1 (90%). Peak memory: 2097152KB.\n"
SOFT = "[SOFT_TIMEOUT] Trial exceeded soft timeout of 600s but completed\n"


@pytest.fixture(params=["ripgrep", "polars"])
def scanner(request, monkeypatch):
    if request.param == "polars":
        monkeypatch.setenv("ANALYZER_RG", "none")
    elif rgscan.rg_binary() is None:
        pytest.skip("no rg binary")
    rgscan.rg_binary.cache_clear()
    yield request.param
    rgscan.rg_binary.cache_clear()


def _study(tmp_path):
    root = tmp_path / "night"
    # deep lines: far from the 20-line tails
    make_generic_trial(root, "ok", "0", stdout=NOISE + OOM + PEAK + SOFT + NOISE)
    make_generic_trial(root, "bad", "1", stdout=NOISE + OOM + NOISE, stderr="make: *** [route] Error 1\n")
    return root


def test_success_keeps_only_what_successes_need_and_classifies_like_a_full_scan(runner, tmp_path, db, scanner):
    ingest_and_classify(runner, _study(tmp_path), db)
    ok = query_rows(runner, db, "select text from trial_log_lines where trial_id = 'night/ok' and not is_tail "
                                "order by line_no")
    assert [r["text"] for r in ok] == [OOM.strip(), PEAK.strip(), SOFT.strip()]
    bad = query_rows(runner, db, "select count(*) n from trial_log_lines where trial_id = 'night/bad' "
                                 "and text like 'step %'")
    assert bad == [{"n": 400}]  # a failure keeps every candidate line
    # the only_failed = false OOM rule still fires on the success, the peak and the soft mark are read
    ev = query_rows(runner, db, "select signal, line_no from failure_evidence where trial_id = 'night/ok'")
    assert {"signal": "kernel_oom_kill", "line_no": 201} in ev
    mem = query_rows(runner, db, "select peak_orfs_mb from trial_facts where trial_id = 'night/ok'")
    assert mem == [{"peak_orfs_mb": 2048.0}]
    marks = query_rows(runner, db, "select soft_line from trial_timeout_marks where trial_id = 'night/ok'")
    assert marks == [{"soft_line": True}]


def test_rules_written_later_see_every_line_of_a_success(runner, tmp_path, db, scanner):
    ingest_and_classify(runner, _study(tmp_path), db)
    rules = tmp_path / "retry.toml"
    rules.write_text('version = "r1"\n[[rules]]\nid = "retry_storm"\ntype = "resource_busy"\nprecedence = 60\n'
                     "only_failed = false\npattern = '''step 150: retry failed'''\n")
    result = invoke(runner, "rules", "test", str(rules), "--db", db)
    assert "rule retry_storm fires on 2 successful trial(s)" not in result.stderr  # one success, one failure
    assert "rule retry_storm fires on 1 successful trial(s)" in result.stderr and "night/ok" in result.stderr
    assert invoke(runner, "classify", "--db", db, "--rules", str(rules), "-q").exit_code == 0
    hits = query_rows(runner, db, "select trial_id, line_no from failure_evidence where signal = 'retry_storm' "
                                  "order by trial_id, line_no")
    # NOISE is written twice: ok's second copy starts after 3 more lines than bad's
    assert [(h["trial_id"], h["line_no"]) for h in hits] == [
        ("night/bad", 151), ("night/bad", 352), ("night/ok", 151), ("night/ok", 354)]
