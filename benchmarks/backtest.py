"""The memory recommender on real history: peaks-train.csv -> generic trials -> `analyzer ingest`
-> `classify` -> `backtest`, timing each step (wall seconds, peak RSS per process via os.wait4).

    python benchmarks/backtest.py                       # the 18,061 real rows
    python benchmarks/backtest.py --trials 100000       # the rows replicated (other design names,
                                                        # dates shifted) up to 100,000 trials
    python benchmarks/backtest.py --csv PATH --keep DIR # another history; keep trials and store
    python benchmarks/backtest.py --cv 3                # design-split cross-validation, in process:
                                                        # 3 random halvings of the designs, each half
                                                        # replayed alone (as a store of only those)

Each CSV row (platform, design, stage, peak_mb, runtime_s, date, source) becomes one generic
trial: `trial.json` {study, case = platform/design, stage, started_at}, `time.txt` with
`Maximum resident set size (kbytes)`, `exit_code` 0. Studies are the month of the run (nightly
studies of one design pool into one history).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CSV = HERE.parent.parent / "shared" / "data" / "memory-history" / "peaks-train.csv"

TIME_V = """\tCommand being timed: "openroad -exit {stage}.tcl"
\tUser time (seconds): {runtime}
\tSystem time (seconds): 0.00
\tPercent of CPU this job got: 99%
\tElapsed (wall clock) time (h:mm:ss or m:ss): 0:00.00
\tMaximum resident set size (kbytes): {kb}
\tExit status: 0
"""


def parse_date(text: str) -> datetime:
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(f"unreadable date {text!r}")


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_trials(rows: list[dict[str, str]], root: Path, total: int | None = None) -> int:
    """One generic trial per row; with `total`, replicas r = 1, 2, ... rename every design
    (`<design>~r<r>`) and shift its dates by r days, until `total` trials are written."""
    total = total or len(rows)
    written = 0
    replica = 0
    while written < total:
        for row in rows:
            if written >= total:
                break
            started = parse_date(row["date"]) + timedelta(days=replica)
            design = row["design"] if replica == 0 else f"{row['design']}~r{replica}"
            study = f"nightly-{started:%Y-%m}"
            trial = root / study / f"t{written:07d}"
            trial.mkdir(parents=True)
            (trial / "exit_code").write_text("0\n")
            (trial / "trial.json").write_text(json.dumps({
                "study": study, "case": f"{row['platform']}/{design}", "stage": row["stage"],
                "started_at": started.strftime("%Y-%m-%dT%H:%M:%SZ")}))
            kb = round(float(row["peak_mb"]) * 1024)
            (trial / "time.txt").write_text(TIME_V.format(stage=row["stage"], runtime=row["runtime_s"] or 0, kb=kb))
            written += 1
        replica += 1
    return written


def csv_frame(path: Path):
    """The CSV as the recommender's input frame (what sql/recommend_trials.sql gives for it)."""
    import polars as pl

    raw = pl.read_csv(path, infer_schema_length=0)
    date = pl.col("date").str.replace("T", " ")
    started = pl.coalesce(date.str.to_datetime("%Y-%m-%d %H:%M", strict=False),
                          date.str.to_datetime("%Y-%m-%d", strict=False))
    return raw.with_row_index("i").select(
        trial_id=pl.format("t{}", "i"), layout=pl.lit("generic"),
        case_name=pl.col("platform") + "/" + pl.col("design"), stage_name=pl.col("stage"),
        stage_index=pl.lit(None, pl.Int32), trial_index=pl.lit(None, pl.Int32), eco_class=pl.lit(None, pl.String),
        started_at=started, finished_at=pl.lit(None, pl.Datetime("us")),
        peak_memory_mb=pl.col("peak_mb").cast(pl.Float64), memory_limit_mb=pl.lit(None, pl.Float64),
        failure_type=pl.lit(None, pl.String))


def cross_validate(path: Path, repeats: int, risk: float) -> None:
    """Split the designs in random halves `repeats` times; replay each half alone."""
    import random

    import polars as pl

    sys.path.insert(0, str(HERE.parent))
    from analyzer.recommend import backtest, verdict

    frame = csv_frame(path)
    whole = verdict(backtest(frame.lazy(), risk, curve=False))
    print(f"all designs: {whole.line()}")
    designs = sorted(frame["case_name"].unique().to_list())
    rng = random.Random(7)
    results = []
    for r in range(repeats):
        shuffled = designs[:]
        rng.shuffle(shuffled)
        for h, half in enumerate((shuffled[: len(shuffled) // 2], shuffled[len(shuffled) // 2:])):
            v = verdict(backtest(frame.filter(pl.col("case_name").is_in(half)).lazy(), risk, curve=False))
            results.append(v)
            print(f"split {r + 1} half {h + 1} ({len(half)} designs): {v.line()}")
    unders = [v.under_provisioned for v in results]
    ratios = [v.slack_ratio for v in results]
    print(f"cross-validation over {len(results)} halves: under-provisioned mean {sum(unders) / len(unders):.2%} "
          f"(max {max(unders):.2%}); median slack / best fixed factor mean {sum(ratios) / len(ratios):.3f} "
          f"(max {max(ratios):.3f})")


def timed(cmd: list[str], out: Path | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one process; stdout to `out`."""
    start = time.perf_counter()
    with open(out or os.devnull, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err}")
    sys.stderr.write(err)
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--trials", type=int, default=None, help="replicate the rows up to this many trials")
    ap.add_argument("--oom-risk", default="0.02")
    ap.add_argument("--keep", type=Path, default=None, help="write trials and store here and keep them")
    ap.add_argument("--cv", type=int, default=0, metavar="N", help="design-split cross-validation, N halvings")
    args = ap.parse_args()
    if not args.csv.exists():
        raise SystemExit(f"{args.csv}: no such file (pass --csv)")
    if args.cv:
        cross_validate(args.csv, args.cv, float(args.oom_risk))
        return
    work = args.keep or Path(tempfile.mkdtemp(prefix="analyzer-backtest-"))
    root, db = work / "trials", work / "store.duckdb"
    if root.exists():
        shutil.rmtree(root)
    db.unlink(missing_ok=True)
    start = time.perf_counter()
    n = write_trials(read_rows(args.csv), root, args.trials)
    print(f"generate: {n} trials in {time.perf_counter() - start:.1f} s ({root})")
    exe = [sys.executable, "-m", "analyzer.cli"]
    steps = [
        ("ingest", [*exe, "ingest", str(root), "--db", str(db), "-q"], None),
        ("classify", [*exe, "classify", "--db", str(db), "--oom-risk", args.oom_risk], None),
        ("backtest", [*exe, "backtest", "--db", str(db), "--oom-risk", args.oom_risk], work / "backtest.txt"),
    ]
    for name, cmd, out in steps:
        seconds, rss = timed(cmd, out)
        print(f"{name}: {seconds:.1f} s, peak RSS {rss:.0f} MiB")
    print((work / "backtest.txt").read_text())
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
