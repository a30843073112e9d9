"""`--engine ray` against `--engine local` on one generated corpus, and the one writer's ceiling.

    python benchmarks/ray_bench.py --workdir /tmp/ray-bench            # 1,000 trials, 1 GB, dense
    python benchmarks/ray_bench.py --trials 200 --total-mb 100 --runs 1

Prints (and with --results appends to a markdown file):
- `ingest --engine local` and `ingest --engine ray` (a local Ray started by the command, every
  core of this machine): wall seconds, CPU seconds of the command's process tree (Ray's workers
  included as far as they are reaped by it; see the note printed), peak RSS of the driver;
- Ray's own start-up (`ray.init()` + `ray.shutdown()` with nothing to do);
- the split of a local ingest into reading (read_batch: CPU seconds, so MB per core-second) and
  writing (write_batch: wall seconds, the one writer's MB/s and trials/s), timed in this process
  by a BatchReader that wraps read_batch, the seam both engines share;
- the machine's load (1-minute load average and busy share of all cores over each step): the
  machine is shared, so wall times are upper bounds and CPU seconds the stable figure.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from generate import generate  # noqa: E402
from run import corpus_bytes, timed  # noqa: E402


def cpu_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores from /proc/stat."""
    fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def loaded(step: str, func, *args):  # type: ignore[no-untyped-def]
    """Run func, print the machine's load around it; returns func's result and the busy share."""
    b0, t0 = cpu_busy()
    result = func(*args)
    b1, t1 = cpu_busy()
    share = (b1 - b0) / max(t1 - t0, 1)
    print(f"  {step}: machine {share:.0%} busy over the step, load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores", flush=True)
    return result, share


def split_read_write(root: Path, db: str) -> dict[str, float]:
    """One local ingest with reading and writing timed apart (the same seam the Ray engine uses)."""
    from analyzer.ingest.pipeline import IngestOptions, ingest, read_batch
    from analyzer.store import open_store

    figures = {"read_cpu": 0.0, "read_wall": 0.0, "write_wall": 0.0, "write_cpu": 0.0, "read_bytes": 0.0,
               "trials": 0.0}

    def cpu() -> float:
        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    def reader(batches, study, stamp, progress) -> Iterator:  # type: ignore[no-untyped-def]
        for batch in batches:
            c0, w0 = cpu(), time.perf_counter()
            data = read_batch(batch, study, stamp, progress)
            figures["read_cpu"] += cpu() - c0
            figures["read_wall"] += time.perf_counter() - w0
            figures["read_bytes"] += sum(st.size_bytes for st in data.scan.stats)
            figures["trials"] += len(data.parses)
            c1, w1 = cpu(), time.perf_counter()
            yield data  # the driver writes this batch before asking for the next
            figures["write_wall"] += time.perf_counter() - w1
            figures["write_cpu"] += cpu() - c1

    for suffix in ("", ".wal"):
        Path(db + suffix).unlink(missing_ok=True)
    with open_store(db) as store:
        ingest(store, [str(root)], IngestOptions(), lambda _m: None, reader=reader)
    return figures


def tree_cpu() -> dict[int, float]:
    """CPU seconds (user+sys) of each live process below this one (a Ray this process started)."""
    tick = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    me, out = os.getpid(), {}
    for pid in used:
        p = parent.get(pid)
        while p and p != me:
            p = parent.get(p)
        if p == me and b"analyzer.cli" not in _cmdline(pid):  # the driver is counted by timed()
            out[pid] = used[pid]
    return out


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


class TreeSampler:
    """CPU used by processes below this one while a step runs: Ray's per-job workers exit with the
    job, so they are sampled every 0.2 s (the last fraction of a second of each is missed)."""

    def __init__(self) -> None:
        import threading

        self.before = tree_cpu()
        self.seen = dict(self.before)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            for pid, cpu in tree_cpu().items():
                self.seen[pid] = max(cpu, self.seen.get(pid, 0.0))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return sum(cpu - self.before.get(pid, 0.0) for pid, cpu in self.seen.items())


def warm_cluster_ingest(analyzer: list[str], root: Path, db: str, cpus: int) -> tuple[float, int, float, float]:
    """`--engine ray --ray-address` on a Ray already running (started here, as a cluster would be):
    the overhead without Ray's start-up. Returns wall, driver RSS, driver CPU, cluster CPU."""
    import ray

    ray.init(num_cpus=cpus, include_dashboard=False, logging_level="ERROR")
    try:
        address = ray.get_runtime_context().gcs_address
        for suffix in ("", ".wal"):
            Path(db + suffix).unlink(missing_ok=True)
        sampler = TreeSampler()
        wall, rss, cpu = timed([*analyzer, "ingest", str(root), "--db", db, "-q", "--engine", "ray",
                                "--ray-address", address])
        return wall, rss, cpu, sampler.stop()
    finally:
        ray.shutdown()


def tasks_vs_ray_data(root: Path, batch_trials: int = 10) -> list[str]:
    """The same batches through `read_packed` as Ray tasks and as Ray Data `map_batches` (one
    batch per row, the ReadBatch pickled into an object column: what a Ray Data block can hold),
    twice each on one warm local Ray. Needs `pip install 'ray[data]'` (not in analyzer's extra)."""
    import pickle
    from datetime import datetime

    import ray
    import ray.data

    from analyzer.ingest import pipeline
    from analyzer.ingest.discover import discover
    from analyzer.ingest.ray_engine import read_packed, unpack

    pipeline.BATCH_TRIALS = batch_trials
    batches = list(pipeline._batches(discover([str(root)]).trials))
    stamp = datetime(2026, 11, 29)
    ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False, logging_level="ERROR")
    task = ray.remote(max_retries=3)(read_packed)
    batches_ref = ray.put(batches)

    def with_tasks() -> int:
        refs = [task.remote(b, None, stamp) for b in batches]
        return sum(len(unpack(ray.get(r)).parses) for r in refs)

    def with_ray_data() -> int:
        ray.data.DataContext.get_current().execution_options.preserve_order = True
        ds = ray.data.from_items([{"i": i} for i in range(len(batches))], override_num_blocks=len(batches))

        def read(rows):  # type: ignore[no-untyped-def]
            got = ray.get(batches_ref)
            return {"packed": [pickle.dumps(read_packed(got[i], None, stamp)) for i in rows["i"]]}
        return sum(len(unpack(pickle.loads(r["packed"])).parses)
                   for r in ds.map_batches(read, batch_size=1).iter_rows())

    lines = []
    try:
        for attempt in ("first (cold workers)", "second (warm)"):
            for name, func in (("Ray tasks", with_tasks), ("Ray Data map_batches", with_ray_data)):
                sampler, w0, c0 = TreeSampler(), time.perf_counter(), time.process_time()
                trials = func()
                wall, driver, workers = time.perf_counter() - w0, time.process_time() - c0, sampler.stop()
                lines.append(f"| {name}, {attempt} | {len(batches)} batches, {trials} trials | {wall:.1f} s | "
                             f"{driver:.1f} s driver + {workers:.1f} s Ray | {os.getloadavg()[0]:.1f} |")
                print(lines[-1], flush=True)
    finally:
        ray.shutdown()
    return lines


def ray_startup() -> float:
    code = "import ray; ray.init(include_dashboard=False, logging_level='ERROR'); ray.shutdown()"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--total-mb", type=float, default=1000)
    parser.add_argument("--profile", default="dense", choices=["sparse", "dense"])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/analyzer-ray-bench"))
    parser.add_argument("--results", type=Path, default=None, help="append the figures (markdown) here")
    parser.add_argument("--split-only", action="store_true", help="only the read/write split")
    parser.add_argument("--tasks-vs-ray-data", action="store_true",
                        help="only compare Ray tasks with Ray Data map_batches (needs ray[data])")
    args = parser.parse_args()

    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    root = work / f"corpus-{args.profile}-{args.trials}-{int(args.total_mb)}"
    if not root.exists():
        generate(root, args.trials, args.total_mb, seed=1, profile=args.profile)
    size_mb = corpus_bytes(root) / 1e6
    subprocess.run(f"find '{root}' -type f -print0 | xargs -0 cat > /dev/null", shell=True, check=True)
    print(f"corpus {root}: {args.trials} trials, {size_mb:.0f} MB ({args.profile})", flush=True)
    if args.tasks_vs_ray_data:
        print("| engine | work | wall | CPU | load average |\n|---|---|---|---|---|")
        tasks_vs_ray_data(root)
        return
    analyzer = [sys.executable, "-m", "analyzer.cli"]
    env_db = str(work / "bench.duckdb")
    rows: list[str] = []

    def ingest(engine: str) -> tuple[float, int, float]:
        for suffix in ("", ".wal"):
            Path(env_db + suffix).unlink(missing_ok=True)
        return timed([*analyzer, "ingest", str(root), "--db", env_db, "-q", "--engine", engine])

    for run in range(0 if args.split_only else args.runs):
        for engine in ("local", "ray"):
            (wall, rss, cpu), share = loaded(f"ingest --engine {engine} (run {run + 1})", ingest, engine)
            line = (f"| ingest --engine {engine} | {wall:.1f} s | {cpu:.1f} s | {size_mb / wall:.0f} MB/s | "
                    f"{rss} MiB | {share:.0%} |")
            print(line, flush=True)
            rows.append(line)
    for run in range(0 if args.split_only else args.runs):
        (wall, rss, cpu, cluster), share = loaded(f"ingest --engine ray on a running Ray (run {run + 1})",
                                                  warm_cluster_ingest, analyzer, root, env_db, os.cpu_count() or 1)
        line = (f"| ingest --engine ray --ray-address (Ray already up) | {wall:.1f} s | {cpu:.1f} s driver + "
                f"{cluster:.1f} s workers | {size_mb / wall:.0f} MB/s | {rss} MiB | {share:.0%} |")
        print(line, flush=True)
        rows.append(line)
    startup = 0.0 if args.split_only else ray_startup()
    print(f"  ray.init()+shutdown() alone: {startup:.1f} s wall", flush=True)
    figures, share = loaded("split read/write", split_read_write, root, str(work / "split.duckdb"))
    read_mb = figures["read_bytes"] / 1e6
    per_core = read_mb / figures["read_cpu"]
    write_mb_s = read_mb / figures["write_wall"]
    write_trials_s = figures["trials"] / figures["write_wall"]
    summary = [
        f"- Ray's start-up alone (`ray.init()` + `ray.shutdown()`): {startup:.1f} s wall",
        f"- reading (read_batch, {read_mb:.0f} MB of logs): {figures['read_cpu']:.1f} CPU s, "
        f"{figures['read_wall']:.1f} s wall: **{per_core:.0f} MB per core-second**",
        f"- writing (write_batch, the one writer): {figures['write_wall']:.1f} s wall, "
        f"{figures['write_cpu']:.1f} CPU s: **{write_mb_s:.0f} MB/s of logs, {write_trials_s:.0f} trials/s** "
        f"(wall; {read_mb / figures['write_cpu']:.0f} MB per CPU-second of the writer)",
        f"- machine busy {share:.0%} over the split run (load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores)",
    ]
    print("\n".join(summary))
    if args.results:
        with args.results.open("a", encoding="utf-8") as f:
            f.write(f"\n{args.trials} trials, {size_mb:.0f} MB ({args.profile}):\n\n"
                    "| step | wall | CPU (process tree) | rate | driver peak RSS | machine busy |\n"
                    "|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n" + "\n".join(summary) + "\n")
    shutil.rmtree(work / "split.duckdb", ignore_errors=True)


if __name__ == "__main__":
    main()
