"""Benchmark analyzer against `cat`, `rg` and a naive per-trial classifier on generated corpora.

    python benchmarks/run.py                 # small corpora (200 trials, 100 MB), both profiles
    python benchmarks/run.py --trials 1000 --total-mb 1000 --workdir /work/bench-data-logs
    python benchmarks/run.py --full          # 1 GB and 4 GB, both profiles; classify/report on a 100,000-trial history
    python benchmarks/run.py --profiles dense --runs 5 --history 100000

Both profiles of `generate.py` run by default (sparse: ~100 candidate lines per GB; dense: real
OpenROAD noise, ~5 % of lines kept). Every step runs --runs times on a warm page cache; medians
of wall time and of CPU time (user+sys of the process and its children) are printed with the
ratios that count, and the peak RSS of every step (os.wait4; for `cat` the largest process of
the pipeline). CPU seconds are the stable figure on a shared machine. `late rule` is `classify
--rules` with a rule the kept lines do not cover, so it reads the whole stored logs of the failed
trials. `--history N` also clones the store's trials to N rows and times `classify` and
`report` on it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from generate import generate  # noqa: E402

RG_MARKERS = ["out of memory", "killed", "bad_alloc", "segmentation fault", "signal 11", "hard_timeout",
              "[error", "no such file", "timeout", "failed"]
# a rule no shipped rule covers: matches ~1 % of the dense corpus' lines ([INFO ODB-0131] lines)
LATE_RULES = 'version = "bench-late"\n[[rules]]\nid = "bench_late_rule"\ntype = "configuration_error"\n' \
             "precedence = 5\npattern = '''Created \\d+ components and 9\\d component-terminals'''\n"
STEPS = ("cat", "rg", "naive", "ingest", "classify", "ingest+classify", "reingest", "report", "late rule")
ANALYZER_STEPS = ("ingest", "classify", "reingest", "report", "late rule")

Result = tuple[float, int, float]   # wall seconds, peak RSS MiB, CPU seconds


def timed(cmd: list[str] | str, shell: bool = False) -> Result:
    """Wall seconds, peak RSS (MiB) and CPU seconds (user+sys, children included) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, shell=shell, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0, 1):  # rg exits 1 when nothing matched
        raise SystemExit(f"{cmd} failed ({proc.returncode}): {err[-500:]}")
    return elapsed, usage.ru_maxrss // 1024, usage.ru_utime + usage.ru_stime


def analyzer_command() -> list[str]:
    """The `analyzer` console script beside this Python (what users run: `python -m` costs a
    runpy import and a module search more, about 30 ms of a 0.4 s re-ingest), else `-m`."""
    script = Path(sys.executable).parent / "analyzer"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "analyzer.cli"]


def compile_analyzer() -> None:
    """Write analyzer's bytecode before anything is timed, as `pip install .` (the README's
    install) does. A checkout run with PYTHONDONTWRITEBYTECODE set (as on our benchmark machine)
    never writes __pycache__, so every command would compile its modules again: about 0.1 s,
    a fifth of an unchanged re-ingest."""
    code = "import analyzer, compileall, sys; sys.exit(not compileall.compile_dir(analyzer.__path__[0], quiet=1))"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=HERE.parent)


def rg_path() -> str | None:
    """The ripgrep analyzer itself uses (the PyPI wheel's beside this Python, else PATH). Asked in
    a child: this process stays small, because a child's peak RSS starts at its parent's."""
    out = subprocess.run([sys.executable, "-c", "from analyzer.ingest.rgscan import rg_binary; print(rg_binary() or '')"],
                         capture_output=True, text=True, cwd=HERE.parent).stdout.strip()
    return out or None


def store_figures(db: str) -> tuple[int, int]:
    """Kept lines and compressed whole-log bytes of a store (in a child, see rg_path)."""
    code = ("import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); print(*con.execute("
            "'SELECT (SELECT count(*) FROM log_lines), (SELECT coalesce(sum(compressed_bytes), 0) FROM log_streams)'"
            ").fetchall()[0])")
    out = subprocess.run([sys.executable, "-c", code, db], capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), int(out[1])


def corpus_bytes(root: Path) -> int:
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file())


def bench(root: Path, work: Path, runs: int, history: int | None) -> dict[str, Result]:
    analyzer = analyzer_command()
    db = str(work / "bench.duckdb")
    late = work / "late.toml"
    late.write_text(LATE_RULES)
    rg = rg_path()
    steps: dict[str, list[Result]] = {k: [] for k in STEPS}
    cat = f"find '{root}' -type f -print0 | xargs -0 cat > /dev/null"
    subprocess.run(cat, shell=True, check=True)  # warm
    for _ in range(runs):
        steps["cat"].append(timed(cat, shell=True))
        if rg:
            steps["rg"].append(timed([rg, "-c", "-i", "-F", *[arg for m in RG_MARKERS for arg in ("-e", m)], str(root)]))
        steps["naive"].append(timed([sys.executable, str(HERE / "naive_noodle2.py"), str(root)]))
        for suffix in ("", ".wal"):
            Path(db + suffix).unlink(missing_ok=True)
        ing = timed([*analyzer, "ingest", str(root), "--db", db, "-q"])
        cls = timed([*analyzer, "classify", "--db", db, "-q"])
        steps["ingest"].append(ing)
        steps["classify"].append(cls)
        steps["ingest+classify"].append((ing[0] + cls[0], max(ing[1], cls[1]), ing[2] + cls[2]))
        steps["reingest"].append(timed([*analyzer, "ingest", str(root), "--db", db, "-q"]))
        steps["report"].append(timed([*analyzer, "report", "--db", db, "--out", str(work / "report.html"), "-q"]))
        steps["late rule"].append(timed([*analyzer, "classify", "--db", db, "--rules", str(late), "-q"]))
    out = {k: (statistics.median(t for t, _, _ in v), max(m for _, m, _ in v), statistics.median(c for _, _, c in v))
           for k, v in steps.items() if v}
    out["store_bytes"] = (float(os.path.getsize(db)), 0, 0.0)
    kept, logs_z = store_figures(db)
    out["kept_lines"] = (float(kept), 0, 0.0)
    out["log_zstd_bytes"] = (float(logs_z), 0, 0.0)
    if history:
        subprocess.run([sys.executable, str(HERE / "run.py"), "--grow-history", db, str(history)], check=True)
        out[f"classify_{history}"] = median_of([*analyzer, "classify", "--db", db, "-q"], runs)
        out[f"report_{history}"] = median_of([*analyzer, "report", "--db", db, "--out", str(work / "h.html"), "-q"], runs)
    return out


def median_of(cmd: list[str], runs: int) -> Result:
    results = [timed(cmd) for _ in range(runs)]
    return (statistics.median(t for t, _, _ in results), max(m for _, m, _ in results),
            statistics.median(c for _, _, c in results))


def grow_history(db: str, target: int) -> None:
    """Clone the store's trials (and their kept lines, memory samples and timeout marks) under new
    study names up to `target` trials."""
    import duckdb

    con = duckdb.connect(db)
    n = con.execute("SELECT count(*) FROM trial_facts").fetchall()[0][0]
    con.execute("CREATE TEMP TABLE tf AS SELECT * FROM trial_facts")
    con.execute("CREATE TEMP TABLE ll AS SELECT * FROM log_lines")
    con.execute("CREATE TEMP TABLE ms AS SELECT * FROM memory_sample_rows")
    con.execute("CREATE TEMP TABLE tm AS SELECT * FROM timeout_mark_rows")
    copies = max(0, -(-target // n) - 1)
    for i in range(1, copies + 1):
        con.execute(f"INSERT INTO trial_facts SELECT * REPLACE (trial_id || '#n{i}' AS trial_id, "
                    f"study || '_night{i}' AS study, started_at + INTERVAL {i} DAY AS started_at, "
                    f"finished_at + INTERVAL {i} DAY AS finished_at) FROM tf")
        con.execute(f"INSERT INTO log_lines SELECT * REPLACE (trial_id || '#n{i}' AS trial_id) FROM ll")
        con.execute(f"INSERT INTO memory_sample_rows SELECT * REPLACE (trial_id || '#n{i}' AS trial_id) FROM ms")
        con.execute(f"INSERT INTO timeout_mark_rows SELECT * REPLACE (trial_id || '#n{i}' AS trial_id) FROM tm")
    con.execute("INSERT INTO study_facts (study, root, layout, fingerprint, ingested_at) "
                "SELECT DISTINCT study, min(root), 'noodle2', '', now() FROM trial_facts "
                "WHERE study NOT IN (SELECT study FROM study_facts) GROUP BY study")
    con.close()


def print_results(label: str, size: int, r: dict[str, Result], history: int | None) -> list[str]:
    mb = size / 1e6
    lines = [f"## {label}: {mb:,.0f} MB of artifacts", "",
             "| step | median wall s | median CPU s | MB/s (wall) | peak RSS MiB |", "|---|---|---|---|---|"]
    for key in STEPS:
        if key in r:
            t, m, c = r[key]
            lines.append(f"| {key} | {t:.2f} | {c:.2f} | {mb / t:,.0f} | {m} |")
    if history:
        for key in (f"classify_{history}", f"report_{history}"):
            t, m, c = r[key]
            lines.append(f"| {key.replace('_', ' on ')}-trial store | {t:.2f} | {c:.2f} | - | {m} |")
    ic, icc = r["ingest+classify"][0], r["ingest+classify"][2]
    lines += ["", "ratios (lower is better; wall, CPU in brackets):",
              f"- ingest+classify / cat = {ic / r['cat'][0]:.2f}"]
    if "rg" in r:
        lines.append(f"- ingest+classify / rg  = {ic / r['rg'][0]:.2f} ({icc / r['rg'][2]:.2f})  (target: <= 2.0, aim 1.0)")
    lines += [f"- ingest+classify / naive per-trial Python = {ic / r['naive'][0]:.2f}",
              f"- re-ingest / first ingest = {r['reingest'][0] / r['ingest'][0]:.3f} "
              f"({r['reingest'][2] / r['ingest'][2]:.3f})  (target: <= 0.05)",
              f"- kept lines (log_lines rows) = {int(r['kept_lines'][0]):,}",
              f"- store size / raw bytes = {r['store_bytes'][0] / size:.4f}; of it whole logs (zstd) "
              f"{r['log_zstd_bytes'][0] / 1e6:,.1f} MB = {r['log_zstd_bytes'][0] / size:.4f} of the raw bytes",
              f"- peak RSS of analyzer steps = {max(r[k][1] for k in ANALYZER_STEPS if k in r)} MiB"
              f"  (target: < 500)", ""]
    print("\n".join(lines), flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description="analyzer benchmark")
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--total-mb", type=float, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--full", action="store_true",
                        help="1,000 trials / 1 GB and 4,000 trials / 4 GB, and a 100,000-trial history")
    parser.add_argument("--history", type=int, default=None, help="also time classify/report on N cloned trials")
    parser.add_argument("--workdir", type=Path, default=None, help="where corpora go (default: a temp dir)")
    parser.add_argument("--results", type=Path, default=None, help="append the markdown tables to this file")
    parser.add_argument("--profiles", default="sparse,dense", help="comma-separated: sparse, dense")
    parser.add_argument("--grow-history", nargs=2, metavar=("DB", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.grow_history:  # in a child: see rg_path
        grow_history(args.grow_history[0], int(args.grow_history[1]))
        return
    sizes = [(1000, 1000.0), (4000, 4000.0)] if args.full else [(args.trials, args.total_mb)]
    base = args.workdir or Path(tempfile.mkdtemp(prefix="analyzer-bench-"))
    compile_analyzer()
    rg = rg_path()
    version = subprocess.run([rg, "--version"], capture_output=True, text=True).stdout.split("\n")[0] if rg else ""
    print(f"machine: {os.cpu_count()} cores; rg: {rg or 'not installed'} ({version}); runs: {args.runs}; "
          f"load average at start: {os.getloadavg()[0]:.1f}", flush=True)
    report: list[str] = []
    for trials, total_mb in sizes:
        for profile in args.profiles.split(","):
            root = base / f"corpus_{profile}_{trials}_{int(total_mb)}mb"
            if not root.exists():
                t0 = time.perf_counter()
                generate(root, trials, total_mb, seed=1, profile=profile)
                print(f"generated {root} in {time.perf_counter() - t0:.0f}s")
            work = base / f"work_{profile}_{trials}"
            work.mkdir(exist_ok=True)
            # --full: the 100,000-trial history (classify and report targets) grown from the 1 GB dense store
            history = args.history or (100_000 if args.full and trials == 1000 and profile == "dense" else None)
            results = bench(root, work, args.runs, history)
            report += print_results(f"{trials} trials, {profile} profile", corpus_bytes(root), results, history)
    if args.results:
        with open(args.results, "a") as fh:
            fh.write("\n".join(report) + "\n")


if __name__ == "__main__":
    main()
