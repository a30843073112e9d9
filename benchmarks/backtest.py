"""The memory recommender on real history: peaks-train.csv -> generic trials -> `analyzer ingest`
-> `classify` -> `backtest`, timing each step (wall seconds, peak RSS per process via os.wait4).

    python benchmarks/backtest.py                       # the 18,061 real rows
    python benchmarks/backtest.py --trials 100000       # the rows replicated (other design names,
                                                        # dates shifted) up to 100,000 trials
    python benchmarks/backtest.py --csv PATH --keep DIR # another history; keep trials and store

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
    args = ap.parse_args()
    if not args.csv.exists():
        raise SystemExit(f"{args.csv}: no such file (pass --csv)")
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
