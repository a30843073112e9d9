"""`analyzer rules test FILE`: what a rules file would change in the store, before anything is
written, and which of its rules fire on trials that succeeded (a rule that matches passing runs
is too broad, the way elastic-recheck rejects a query that hits passing jobs)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from .classify import Classification
from .jobs import classify_stored
from .logstore import late_rule_matches
from .rules import RuleSet, _load_toml, load_rules
from .store import Store

SUCCESS_TRIALS_PER_READ = 1000  # successful trials whose kept lines are read at once


@dataclass
class RulesTest:
    """The verdicts a rules file would change, and its rules that fire on successful trials."""

    changes: pl.DataFrame        # trial_id, study, old, new (verdict that would change)
    transitions: pl.DataFrame    # old, new, trials
    on_success: pl.DataFrame     # rule, trials, lines, example_trial, example_line
    trials: int


def _types(result: Classification) -> pl.DataFrame:
    """trial_id, study, verdict (the failure type, or the outcome of a trial that did not fail)."""
    return (result.verdicts.select("trial_id", "outcome")
            .join(result.failures.select("trial_id", "study", "failure_type"), on="trial_id", how="left")
            .select("trial_id", "study", pl.coalesce("failure_type", "outcome").alias("verdict")))


def rules_test(store: Store, path: str | Path) -> RulesTest:
    """Classify the store twice (shipped rules, shipped + FILE) without writing, and compare."""
    base = classify_stored(store, load_rules())
    rules = load_rules(path)
    new = classify_stored(store, rules)
    old_v, new_v = _types(base), _types(new)
    joined = old_v.join(new_v.select("trial_id", pl.col("verdict").alias("new"),
                                     pl.col("study").alias("study_new")), on="trial_id", how="full",
                        coalesce=True)
    changes = (joined.filter(pl.col("verdict").ne_missing(pl.col("new")))
               .select("trial_id", pl.coalesce("study", "study_new").alias("study"),
                       pl.col("verdict").alias("old"), "new").sort("trial_id"))
    transitions = (changes.group_by("old", "new").agg(pl.len().alias("trials"))
                   .sort("trials", "old", "new", descending=[True, False, False]))
    return RulesTest(changes, transitions, _on_success(store, rules, path, new), new.verdicts.height)


def _on_success(store: Store, rules: RuleSet, path: str | Path, result: Classification) -> pl.DataFrame:
    """Rules of FILE that match a kept line of a trial that succeeded."""
    ids = {r.get("id") for r in (_load_toml(Path(path)).get("rules") or []) if isinstance(r, dict)}
    own = [r for r in rules.rules if r.id in ids]
    succeeded = result.verdicts.filter(pl.col("outcome") == "success").select("trial_id")
    empty = pl.DataFrame(schema={"rule": pl.String, "trials": pl.UInt32, "lines": pl.UInt32,
                                 "example_trial": pl.String, "example_line": pl.String})
    if not own or succeeded.height == 0:
        return empty
    hits = []
    # the kept lines of SUCCESS_TRIALS_PER_READ trials at a time: all of them at once were
    # +130 MiB at 4,000 dense trials; only the matches are held while the logs are read
    for part in succeeded.iter_slices(SUCCESS_TRIALS_PER_READ):
        with store.registered("succeeded", part):
            lines = store.frame_file("rules_test_success_lines")
        hits += [lines.filter(pl.col("stream").is_in(list(r.streams)) & pl.col("text").str.contains(r.regex))
                 .select(pl.lit(r.id).alias("rule"), "trial_id", "stream", "line_no", "text") for r in own]
        del lines
    # successful trials keep few lines (logs.SUCCESS_*): the rest of their stored logs is searched
    stored = late_rule_matches(store, replace(rules, rules=own),
                               succeeded.with_columns(pl.lit(True).alias("failed")), every_rule=True)
    hits.append(stored.select(pl.col("rule_id").alias("rule"), "trial_id", "stream", "line_no", "text"))
    del stored
    # counted on the keys alone (a line found both kept and stored counts once); the text is
    # looked up only for each rule's example: the first line (stream, line_no) of its first trial
    key = ["rule", "trial_id", "stream", "line_no"]
    found = pl.concat([h.select(key) for h in hits]).unique()
    if found.is_empty():
        return empty
    counts = found.sort(key).group_by("rule", maintain_order=True).agg(
        pl.col("trial_id").n_unique().alias("trials"), pl.len().alias("lines"),
        pl.col("trial_id").first().alias("example_trial"), pl.col("stream").first(), pl.col("line_no").first())
    del found
    first = counts.select("rule", pl.col("example_trial").alias("trial_id"), "stream", "line_no")
    texts = (pl.concat([h.join(first, on=key, how="semi") for h in hits])
             .unique("rule", keep="first", maintain_order=True).select("rule", "text"))
    return (counts.join(texts, on="rule", how="left", maintain_order="left")
            .select("rule", "trials", "lines", "example_trial", pl.col("text").str.slice(0, 160).alias("example_line")))
