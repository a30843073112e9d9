"""Accuracy of the shipped rules on the real-log corpus (tests/corpus/cases.toml), per family and
leave-one-source-out.

Every case becomes a generic trial (exit code + stderr); one ingest, then classification without
writing. Leave-one-source-out: the cases of each source project (github owner/repo of `source`)
are scored with the rules as they were before rules motivated by that project were written: every
rule whose `motivated_by` names only that project is disabled (rules.RuleSet.without). Rules with
no `motivated_by` (written before the corpus grew, or from tool sources) stay on.

Usage: python tests/corpus/score.py [--cases FILE]   (prints Markdown tables)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import tomllib
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from analyzer.jobs import classify_stored  # noqa: E402
from analyzer.rules import load_rules  # noqa: E402
from analyzer.store import open_store  # noqa: E402


def project(source: str) -> str:
    """github owner/repo of a source URL, else its host."""
    parts = source.split("/")
    if "github.com" in source and len(parts) > 4:
        return f"{parts[3]}/{parts[4]}"
    return parts[2] if len(parts) > 2 else source


def build_store(cases: list[dict], root: Path) -> str:
    from click.testing import CliRunner

    from analyzer.cli import main

    for case in cases:
        trial = root / "corpus" / case["id"]
        trial.mkdir(parents=True)
        (trial / "exit_code").write_text(f"{case['exit_code']}\n")
        (trial / "stderr").write_text(case["text"].lstrip("\n"), encoding="utf-8")
    db = str(root / "corpus.duckdb")
    result = CliRunner().invoke(main, ["ingest", str(root / "corpus"), "--db", db, "-q"])
    if result.exit_code != 0:
        raise SystemExit(result.output)
    return db


def answers(db: str, rules) -> dict[str, str]:
    """case id -> failure_type ('success' when the trial did not fail)."""
    with open_store(db, read_only=True) as store:
        result = classify_stored(store, rules)
    failed = dict(zip(result.failures["trial_id"].to_list(), result.failures["failure_type"].to_list()))
    return {tid.split("/", 1)[1]: failed.get(tid, "success") for tid in result.verdicts["trial_id"].to_list()}


def score(cases: list[dict]) -> tuple[pl.DataFrame, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        db = build_store(cases, Path(tmp))
        rules = load_rules()
        full = answers(db, rules)
        motivated = {p for r in rules.rules for p in r.motivated_by}
        held_out: dict[str, str] = {}
        for proj in sorted({project(c["source"]) for c in cases}):
            ids = [c["id"] for c in cases if project(c["source"]) == proj]
            got = answers(db, rules.without({proj})) if proj in motivated else full
            held_out.update({i: got[i] for i in ids})
    rows = [{"id": c["id"], "project": project(c["source"]), "family": c["family"], "expect": c["expect"],
             "got": full[c["id"]], "got_loso": held_out[c["id"]]} for c in cases]
    frame = pl.DataFrame(rows).with_columns(
        ok=pl.col("got") == pl.col("expect"), ok_loso=pl.col("got_loso") == pl.col("expect"),
        false_oom=(pl.col("got") == "out_of_memory") & (pl.col("expect") != "out_of_memory"),
        false_oom_loso=(pl.col("got_loso") == "out_of_memory") & (pl.col("expect") != "out_of_memory"))
    return frame, {"rules_version": rules.version}


def tables(frame: pl.DataFrame) -> str:
    by_family = (frame.group_by("family").agg(
        pl.len().alias("cases"), pl.col("ok").sum().alias("right"), pl.col("ok_loso").sum().alias("right_loso"))
        .sort("family"))
    out = ["| family | cases | right (all rules) | right (leave-one-source-out) |", "|---|---:|---:|---:|"]
    for r in by_family.iter_rows(named=True):
        out.append(f"| {r['family']} | {r['cases']} | {r['right']} ({100 * r['right'] / r['cases']:.0f} %) | "
                   f"{r['right_loso']} ({100 * r['right_loso'] / r['cases']:.0f} %) |")
    n, ok, loso = frame.height, int(frame["ok"].sum()), int(frame["ok_loso"].sum())
    out.append(f"| **all** | {n} | {ok} ({100 * ok / n:.1f} %) | {loso} ({100 * loso / n:.1f} %) |")
    projects = frame["project"].n_unique()
    out.append("")
    out.append(f"{projects} source projects; false out-of-memory: {int(frame['false_oom'].sum())} "
               f"(leave-one-source-out: {int(frame['false_oom_loso'].sum())}).")
    misses = frame.filter(~pl.col("ok") | ~pl.col("ok_loso"))
    if misses.height:
        out.append("")
        out.append("| missed case | project | expected | got (all rules) | got (held out) |")
        out.append("|---|---|---|---|---|")
        for r in misses.iter_rows(named=True):
            out.append(f"| {r['id']} | {r['project']} | {r['expect']} | {r['got']} | {r['got_loso']} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=str(HERE / "cases.toml"))
    args = parser.parse_args()
    cases = tomllib.loads(Path(args.cases).read_text(encoding="utf-8"))["case"]
    frame, meta = score(cases)
    print(f"Corpus: {len(cases)} real cases, rules {meta['rules_version']}\n")
    print(tables(frame))


if __name__ == "__main__":
    main()
