"""Trial ids: readable, unique, and stable across nights.

A trial's readable id is `<study>/<path of the trial below its study>` (Noodle 2:
`study/case/stage_0/trial_3`). A trial folder keeps the id it was first stored under, so ids are
stable from night to night. When a second folder (another root with the same study and trial
names, e.g. `night1/output` and `night2/output`) claims an id already held by a different folder,
it gets the readable id plus `@` and 8 hex digits of a hash of its absolute folder path
(`study/case/stage_0/trial_3@1f2e3d4c`): never a silent replacement, never an aborted run.
"""

from __future__ import annotations

import hashlib

import polars as pl


def _suffix(trial_dir: str, digits: int) -> str:
    return hashlib.blake2b(trial_dir.encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()[:digits]


class TrialIds:
    """Hands out ids for trial folders, remembering what the store already holds."""

    def __init__(self, known: pl.DataFrame) -> None:
        self.by_dir: dict[str, str] = dict(zip(known["trial_dir"].to_list(), known["trial_id"].to_list()))
        self.owner: dict[str, str] = {tid: d for d, tid in self.by_dir.items()}
        self.stored = frozenset(self.owner)  # ids the store held before this run

    def all_new(self, trial_ids: list[str]) -> bool:
        """None of these ids was stored before this run: no row of theirs to replace (every row a
        batch writes goes in with its trial_facts row, in one transaction)."""
        return self.stored.isdisjoint(trial_ids)

    def assign(self, trial_dir: str, readable: str) -> str:
        """The id of `trial_dir`: the one it has, else `readable` if free, else `readable@hash`."""
        if trial_dir in self.by_dir:
            return self.by_dir[trial_dir]
        candidate, digits = readable, 8
        while self.owner.get(candidate, trial_dir) != trial_dir:
            candidate = f"{readable}@{_suffix(trial_dir, digits)}"
            digits += 8
        self.by_dir[trial_dir] = candidate
        self.owner[candidate] = trial_dir
        return candidate
