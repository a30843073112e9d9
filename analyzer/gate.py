"""`run --fail-on`: did the newly ingested trials fail in the way a nightly job cares about?"""

from __future__ import annotations

import polars as pl

from .choices import FAIL_ON
from .store import Store

__all__ = ["FAIL_ON", "fail_on_matches", "summary_line"]



def fail_on_matches(store: Store, kind: str, new_trial_ids: list[str]) -> pl.DataFrame:
    """trial_id, failure_type, reason of the new trials that match `kind`."""
    ids = pl.DataFrame({"trial_id": new_trial_ids}, schema={"trial_id": pl.String})
    with store.registered("new_trials", ids):
        return store.frame_file("fail_on", {"kind": kind})


def summary_line(kind: str, matches: pl.DataFrame, new_count: int) -> str:
    types = ", ".join(f"{t} {n}" for t, n in matches["failure_type"].value_counts(sort=True).iter_rows())
    return (f"fail-on {kind}: {matches.height} of {new_count} newly ingested trial(s) failed ({types}); "
            f"first: {matches['trial_id'][0]}")
