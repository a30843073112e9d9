"""Rules files users can trust (`rules check`, `rules test`), the shipped rules' own examples,
and deterministic verdicts whatever the partition size."""

from __future__ import annotations

import os
import shutil
import tomllib

import pytest

from analyzer import jobs
from analyzer.resources import rules_path
from analyzer.rules import check_rules, load_rules

from .conftest import REPO, ingest_and_classify, invoke, make_generic_trial, query_rows

VIEWS = ("trials", "failures", "failure_evidence", "memory", "studies", "contained_eco_classes", "trial_log_lines")


def _dump(runner, db: str) -> dict[str, str]:
    """Every public view as text, rows in a total order, the classification time left out."""
    out = {}
    for view in VIEWS:
        rows = query_rows(runner, db, f"select * from {view}")
        out[view] = "\n".join(sorted(repr(sorted(r.items())) for r in rows))
    return out


def _ties(root) -> None:
    """A trial whose lines tie on precedence (two rules of one precedence on one line, and twice)."""
    make_generic_trial(root, "ties", "1",
                       stderr="[ERROR GRT-0116] Global routing finished with congestion.\n"
                              "Error: routing failed\nError: routing failed\n")


def _same_views_whatever_the_partitions(runner, root, db, monkeypatch, sizes) -> None:
    """Ingest and classify `root`, then classify again with each (trials, lines) partition size
    (lines None: the default): every view stays as the first classification made it."""
    ingest_and_classify(runner, root, db)
    first = _dump(runner, db)
    for trials, lines in sizes:
        monkeypatch.setattr(jobs, "TRIALS_PER_PARTITION", trials)
        if lines is not None:
            monkeypatch.setattr(jobs, "LINES_PER_PARTITION", lines)
        assert invoke(runner, "classify", "--db", db, "-q").exit_code == 0
        again = _dump(runner, db)
        for view in VIEWS:
            assert again[view] == first[view], f"{view} differs with partitions of {trials} trials / {lines} lines"
    assert first["failures"].count("routing_failed") >= 1


def test_partition_sizes_give_identical_views_on_the_generic_sample(runner, tmp_path, monkeypatch):
    """The fast twin of the slow test below: sample_logs' 13 generic trials plus the ties."""
    root = tmp_path / "generic"
    shutil.copytree(REPO / "sample_logs" / "generic", root)
    _ties(root)
    # one trial per partition: the slow test below
    _same_views_whatever_the_partitions(runner, root, str(tmp_path / "s.duckdb"), monkeypatch,
                                        [(4, 1_000_000), (5, 20)])


@pytest.mark.slow
def test_same_store_and_rules_give_identical_views_whatever_the_partition_size(runner, sample_root, tmp_path,
                                                                                monkeypatch):
    _ties(sample_root / "generic")
    _same_views_whatever_the_partitions(runner, sample_root, str(tmp_path / "s.duckdb"), monkeypatch,
                                        [(1, None), (3, None), (7, None)])


def test_shipped_rules_are_valid_and_their_examples_hold():
    assert check_rules(rules_path()) == []
    doc = tomllib.loads(rules_path().read_text(encoding="utf-8"))
    with_examples = [r for r in doc["rules"] if r.get("examples")]
    assert len(with_examples) >= 20


def _write(tmp_path, text: str, name: str = "r.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("text,expected", [
    ('version = "1"\n[[rule]]\nid = "x"\ntype = "timeout"\npattern = "slow"\n',
     "rule: unknown field; did you mean 'rules'?"),
    ('version = "1"\n[[rules]]\nid = "x"\ntype = "timeout"\npatern = "slow"\npattern = "y"\n',
     "rule x.patern: unknown field; did you mean 'pattern'?"),
    ('version = "1"\n[[rules]]\nid = "x"\ntype = "timeout"\npattern = "a"\n'
     '[[rules]]\nid = "x"\ntype = "timeout"\npattern = "b"\n', "rule x.id: duplicate id (also rule #1)"),
    ('version = "1"\n[[rules]]\nid = "x"\ntype = "timeout"\npattern = "a"\nprecedence = "10"\n',
     "rule x.precedence: '10' is str; write an integer (lower wins)"),
    ('version = "1"\n[[rules]]\nid = "x"\ntype = "timeout"\npattern = "a"\nonly_failed = "no"\n',
     "rule x.only_failed: 'no' is str; write true or false"),
    ('version = "1"\n[[rules]]\nid = "x"\ntype = "timeout"\npattern = "timed out"\n'
     'examples = ["it timed out", "it hung"]\ncounter_examples = ["timed out reading"]\n',
     "rule x.examples: 'it hung' does not match the pattern"),
    ('version = "1"\n[[rules]]\nid = "x"\ntype = "timeout"\npattern = "timed out"\n'
     'counter_examples = ["Read timed out"]\n', "rule x.counter_examples: 'Read timed out' matches the pattern"),
    ('version = "1"\n[types.license_wait]\nseverity = "low"\nrecoverable = true\nfamily = "transiant"\n',
     "types.license_wait.family: 'transiant' is not a known family"),
    ('version = "1"\n[signals.exit_code_124]\ntype = "timeout"\nprecedance = 5\n',
     "signals.exit_code_124.precedance: unknown field; did you mean 'precedence'?"),
])
def test_rules_check_names_the_rule_the_field_and_the_fix(runner, tmp_path, text, expected):
    result = invoke(runner, "rules", "check", str(_write(tmp_path, text)))
    assert result.exit_code == 1
    assert expected in result.stderr, result.stderr


def test_rules_check_rejects_binary_non_utf8_and_fifo_files(runner, tmp_path):
    binary = tmp_path / "b.toml"
    binary.write_bytes(b'version = "1"\x00\x01')
    latin = tmp_path / "l.toml"
    latin.write_bytes('version = "caf\u00e9"\n'.encode("latin-1"))
    for path, words in ((binary, "binary file"), (latin, "not UTF-8")):
        result = invoke(runner, "rules", "check", str(path))
        assert result.exit_code == 1 and words in result.output and "Traceback" not in result.output
    fifo = tmp_path / "f.toml"
    os.mkfifo(fifo)
    result = invoke(runner, "rules", "check", str(fifo))  # must not block waiting for a writer
    assert result.exit_code == 1 and "not a regular file" in result.output


def test_a_new_types_family_decides_catastrophic_and_transient(runner, tmp_path, db):
    root = tmp_path / "t"
    make_generic_trial(root, "lic", "1", stderr="lmgrd: license server busy, retry later\n")
    rules = _write(tmp_path, 'version = "site"\n[types.license_wait]\nseverity = "low"\nrecoverable = true\n'
                   'family = "transient"\n[[rules]]\nid = "license_wait"\ntype = "license_wait"\nprecedence = 15\n'
                   "pattern = '''license server busy'''\nexamples = [\"lmgrd: license server busy\"]\n")
    assert invoke(runner, "rules", "check", str(rules)).exit_code == 0
    ingest_and_classify(runner, root, db)
    assert invoke(runner, "classify", "--db", db, "--rules", str(rules), "-q").exit_code == 0
    assert query_rows(runner, db, "select failure_type, transient, catastrophic from failures") == [
        {"failure_type": "license_wait", "transient": True, "catastrophic": False}]


def test_families_come_from_the_rules_file():
    types = load_rules().types_frame()
    flags = {r["failure_type"]: (r["catastrophic"], r["transient"]) for r in types.iter_rows(named=True)}
    assert flags["out_of_memory"] == (True, False) and flags["network_error"] == (False, True)
    assert flags["routing_failed"] == (False, False)


def test_every_shipped_example_survives_the_ingest_prefilter():
    """A rule can only fire on lines ingest keeps: each example line must pass the prefilter."""
    from analyzer.ingest.logs import _prefiltered_lines

    doc = tomllib.loads(rules_path().read_text(encoding="utf-8"))
    lost = []
    for rule in doc["rules"]:
        lines = rule.get("examples") or []
        if lines:
            kept = set(_prefiltered_lines(("\n".join(lines) + "\n").encode()).get_column("text").to_list())
            lost += [(rule["id"], line) for line in lines if line not in kept]
    assert not lost


def test_rules_test_shows_changes_without_writing_and_flags_rules_hitting_successes(runner, tmp_path, db):
    root = tmp_path / "t"
    make_generic_trial(root, "lic_fail", "1", stderr="lmgrd: license server busy\n")
    make_generic_trial(root, "lic_ok", "0", stderr="lmgrd: license server busy, retrying\ndone\n")
    make_generic_trial(root, "crash", "1", stderr="Error: something odd\n")
    ingest_and_classify(runner, root, db)
    before = query_rows(runner, db, "select trial_id, failure_type from failures order by 1")
    narrow = _write(tmp_path, 'version = "s1"\n[[rules]]\nid = "odd"\ntype = "configuration_error"\nprecedence = 70\n'
                    "pattern = '''something odd'''\n", "narrow.toml")
    result = invoke(runner, "rules", "test", str(narrow), "--db", db, "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["trial_id,study,old,new", "t/crash,t,tool_crash,configuration_error"]
    assert "1 of 3 trials would change verdict (tool_crash -> configuration_error: 1)" in result.stderr
    assert query_rows(runner, db, "select trial_id, failure_type from failures order by 1") == before
    broad = _write(tmp_path, 'version = "s2"\n[[rules]]\nid = "lic"\ntype = "resource_busy"\n'
                   "pattern = '''license server busy'''\n", "broad.toml")
    result = invoke(runner, "rules", "test", str(broad), "--db", db)
    assert result.exit_code == 1
    assert "rule lic fires on 1 successful trial(s)" in result.stderr and "t/lic_ok" in result.stderr
