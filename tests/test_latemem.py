"""Late rules read the whole stored logs in bounded memory: the matches do not depend on how the
text is batched, and the blocks DuckDB caches while reading chunks are evicted (issue 9)."""

from __future__ import annotations

import random
import re

import polars as pl
import pytest

import analyzer.logstore as logstore
import analyzer.store as store_module
from analyzer.ingest.logs import MAX_LINE_CHARS
from analyzer.rules import RuleSet, load_rules
from analyzer.store import open_store

from .conftest import invoke, make_generic_trial

# Two late rules the shipped vocabulary does not cover: one on every stream of failed trials,
# one on stdout of every trial. A batch then holds pieces only the second rule reads.
LATE_RULES = ('version = "late-test"\n'
              '[[rules]]\nid = "late_words"\ntype = "tool_crash"\npattern = \'(?i)e[r]ror|warn[i]ng\'\n'
              '[[rules]]\nid = "late_digits"\ntype = "configuration_error"\nonly_failed = false\n'
              'streams = ["stdout"]\npattern = \'[0-9]{3,}\'\n')


def _rules(tmp_path) -> RuleSet:
    path = tmp_path / "late.toml"
    path.write_text(LATE_RULES)
    return load_rules(str(path))


def _expected(store, rules: RuleSet, trials: pl.DataFrame) -> set[tuple[str, str, str, int, str]]:
    """The matches, found the slow way: each whole log read back, split and searched in Python."""
    own = [r for r in rules.rules if r.id.startswith("late_")]
    failed = dict(trials.iter_rows())
    stored = store.frame("SELECT trial_id, stream FROM log_streams WHERE codec IS NOT NULL")
    out = set()
    for trial_id, stream in stored.iter_rows():
        if trial_id not in failed:
            continue
        text = b"".join(logstore.read_log(store, trial_id, stream)).decode("utf-8", "replace")
        for no, line in enumerate(text.split("\n"), start=1):
            for r in own:
                if stream in r.streams and (failed[trial_id] or not r.only_failed) and re.search(r.regex, line):
                    out.add((trial_id, r.id, stream, no, line.rstrip("\r")[:MAX_LINE_CHARS]))
    return out


@pytest.mark.parametrize("batch_bytes", [1, 3000, logstore.LATE_BATCH_BYTES])
def test_late_matches_do_not_depend_on_the_batch_size(shared_sample, tmp_path, monkeypatch, batch_bytes):
    db = shared_sample.store(tmp_path / "s.duckdb", classify=False)
    rules = _rules(tmp_path)
    monkeypatch.setattr(logstore, "LATE_BATCH_BYTES", batch_bytes)
    with open_store(db, read_only=True) as store:
        ids = store.frame("SELECT DISTINCT trial_id FROM log_streams ORDER BY 1")["trial_id"]
        # every other trial counts as failed, so the only_failed rule reads only some pieces
        trials = pl.DataFrame({"trial_id": ids, "failed": [i % 2 == 0 for i in range(len(ids))]})
        found = logstore.late_rule_matches(store, rules, trials, every_rule=True)
        expected = _expected(store, rules, trials)
    got = set(found.iter_rows())
    assert found.height == len(got)  # no line twice
    assert {r for _, r, *_ in got} == {"late_words", "late_digits"}
    assert got == expected


def _noisy_log(n: int) -> str:
    rnd = random.Random(9)
    return "".join(f"step {i} {rnd.getrandbits(256):064x} warning\n" for i in range(n))


@pytest.fixture
def noisy_store(runner, tmp_path, db) -> str:
    """A store holding ~6 MB of hardly compressible stored log (so its chunks fill many blocks)."""
    root = tmp_path / "night"
    make_generic_trial(root, "t1", "1", stdout=_noisy_log(80_000))
    assert invoke(runner, "ingest", str(root), "--db", db, "-q").exit_code == 0
    return db


def _cached_mib(store) -> float:
    return float(store.scalar("SELECT coalesce(sum(memory_usage_bytes), 0) / 2^20 FROM duckdb_memory() "
                              "WHERE tag = 'BASE_TABLE'"))


def test_reading_stored_logs_leaves_no_blocks_cached(noisy_store, monkeypatch):
    targets = pl.DataFrame({"trial_id": ["night/t1"], "stream": ["stdout"]})
    with open_store(noisy_store, read_only=True) as store:
        monkeypatch.setattr(store_module, "_evict_cached_blocks", lambda con: None)
        kept = sum(len(c[4]) for c in store.iter_log_chunks(targets))
        cached_without = _cached_mib(store)
    monkeypatch.undo()
    with open_store(noisy_store, read_only=True) as store:
        assert sum(len(c[4]) for c in store.iter_log_chunks(targets)) == kept > 2 << 20
        cached_with = _cached_mib(store)
        store.cap_log_memory()  # the limit the eviction puts back
        limit = store.scalar("SELECT current_setting('memory_limit')")
        for _ in store.iter_log_chunks(targets):
            pass
        assert store.scalar("SELECT current_setting('memory_limit')") == limit  # put back, exactly
    assert cached_without > 2 and cached_with < 0.5


@pytest.mark.parametrize("spill", [True, False])
def test_an_eviction_inside_a_write_transaction_loses_nothing(noisy_store, tmp_path, monkeypatch, spill):
    """A write transaction's own rows are spilled to the temp directory, or, with nowhere to spill
    them, DuckDB refuses the tiny limit; either way the read goes on, the old limit is back, and
    the transaction commits."""
    monkeypatch.setattr(store_module, "LOG_READ_EVICT_BYTES", 1)  # evict after every trial
    path = tmp_path / "step.toml"
    path.write_text('version = "s"\n[[rules]]\nid = "late_step"\ntype = "tool_crash"\npattern = "^step 7777 "\n')
    rules = load_rules(str(path))
    evicted: list[bool] = []
    real = store_module._evict_cached_blocks
    monkeypatch.setattr(store_module, "_evict_cached_blocks", lambda con: evicted.append(real(con)))
    with open_store(noisy_store) as store:
        store.cap_log_memory()
        if not spill:
            store.execute("SET temp_directory = ''")  # uncommitted rows cannot be spilled
        limit = store.scalar("SELECT current_setting('memory_limit')")
        with store.transaction():
            store.execute("CREATE TABLE held AS SELECT repeat('x', 1000) || i AS s FROM range(20000) t(i)")
            trials = pl.DataFrame({"trial_id": ["night/t1"], "failed": [True]})
            found = logstore.late_rule_matches(store, rules, trials)
            assert store.scalar("SELECT current_setting('memory_limit')") == limit
        assert store.scalar("SELECT count(*) FROM held") == 20000
    assert evicted and all(evicted) is spill  # without a place to spill them: refused
    line = _noisy_log(7778).splitlines()[7777]
    assert found.select("rule_id", "stream", "line_no", "text").rows() == [("late_step", "stdout", 7778, line)]


@pytest.mark.parametrize("per_read", [1, 1000])
def test_rules_test_counts_each_matching_line_of_successes_once(shared_sample, tmp_path, monkeypatch, per_read):
    """`rules test`: a rule's lines on successful trials, from kept lines read a few trials at a
    time and from the stored logs, equal a plain search of the whole logs; the example is the
    first matching line of the first trial."""
    import analyzer.rulestest as rulestest

    db = shared_sample.store(tmp_path / "s.duckdb")
    path = tmp_path / "late.toml"
    path.write_text(LATE_RULES)
    monkeypatch.setattr(rulestest, "SUCCESS_TRIALS_PER_READ", per_read)
    with open_store(db, read_only=True) as store:
        got = rulestest.rules_test(store, path).on_success
        ok = store.frame("SELECT trial_id, true AS failed FROM trials WHERE outcome = 'success'")
        expected = _expected(store, _rules(tmp_path), ok)
    assert ok.height > 5 and expected
    rows = {r["rule"]: r for r in got.iter_rows(named=True)}
    for rule in ("late_words", "late_digits"):
        mine = sorted(e for e in expected if e[1] == rule)
        assert (rows[rule]["lines"], rows[rule]["trials"]) == (len(mine), len({e[0] for e in mine}))
        assert (rows[rule]["example_trial"], rows[rule]["example_line"]) == (mine[0][0], mine[0][4][:160])
