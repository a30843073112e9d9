"""Write a realistic finished Noodle 2 study of N trials for benchmarking (deterministic per seed).

    python benchmarks/generate.py OUT --trials 1000 --total-mb 1000 [--seed 1] [--profile dense]

Each trial gets `trial_summary.json`, `logs/stdout.txt` (OpenROAD-style output with real message
ids, sized so the corpus totals --total-mb), `logs/stderr.txt`, `docker_stats.jsonl` (a few
`docker stats --format '{{json .}}'` samples) and `docker_inspect.json`. The failure mix is a real
study's: mostly successes, a few percent out-of-memory, timeouts and crashes.

Profiles: `sparse` (the first benchmark: about a hundred lines in the whole corpus contain a
failure word) and `dense` (what real OpenROAD/ORFS logs look like: INFO/WARNING streams, failure
words inside harmless lines -- "error" in counters, "failed" in retry notes, "timeout" in
settings -- long detailed-routing iteration tables, and 5-10 % of all lines containing a failure
word, most of them outside `[INFO`/`[WARNING` lines so that a prefilter keeps them).
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

ECOS = ["noop", "cell_resize", "buffer_insertion", "cell_swap", "gate_cloning", "placement_density",
        "pin_swap", "repair_design", "buffer_removal", "dead_logic_elimination", "tie_fanout_repair",
        "clock_net_repair", "full_optimization", "sequential_repair", "multi_pass_timing",
        "aggressive_timing", "hold_repair", "power_recovery", "vt_swap", "timing_driven_placement"]

LINES = [
    "[INFO GRT-0101] Running extra iterations to remove overflow.",
    "[INFO DRT-0195] Start {n}th optimization iteration.",
    "    Completing {p}% with {n} violations.",
    "    elapsed time = 00:{m:02d}:{s:02d}, memory = {mem}.{n2:02d} (MB).",
    "[INFO RSZ-0039] Resized {n} instances.",
    "[INFO RSZ-0040] Inserted {n} buffers.",
    "[INFO GPL-0006] NumInstances: {n}",
    "      {n} |     0.{n2:04d} |  1.{n:06d}e+06 |   +0.{n2:02d}% |  2.{n2:02d}e-03 |      ",
    "[WARNING STA-1173] /platforms/nangate45/lib/NangateOpenCellLibrary_typical.lib line 1, default_operating_condition typical not found.",
    "[INFO DPL-0035]  _{n}_",
    "[INFO GRT-0018] Total wirelength: {n} um",
    "[INFO ODB-0131]     Created {n} components and {n2} component-terminals.",
    "report_worst_slack",
    "worst slack -0.{n2:03d}",
    "[INFO CTS-0010]  Clock net \"clk_i\" has {n} sinks.",
    "[WARNING GRT-0230] Congestion iterations cannot increase overflow, reached the maximum number of times the total overflow can be increased.",
]

# Dense profile: real OpenROAD/ORFS shapes. Lines marked with a failure word are harmless in a
# successful run (counters, retry notes, settings, DRT violation tables).
DENSE_LINES = [
    "[INFO DRT-0195] Start {n}th optimization iteration.",
    "    Completing {p}% with {n} violations.",
    "    elapsed time = 00:{m:02d}:{s:02d}, memory = {mem}.{n2:02d} (MB).",
    "[INFO DRT-0199]   Number of violations = {n}.",
    "Viol/Layer         metal1    metal2    metal3    metal4    metal5",
    "Cut Spacing             0         {n2}         0         0         0",
    "Metal Spacing          {n2}        {n2}         {n2}         0         0",
    "Short                   0         {n2}         {n2}         0         0",
    "[INFO DRT-0267] cpu time = 00:{m:02d}:{s:02d}, elapsed time = 00:{m:02d}:{s:02d}, memory = {mem}.{n2:02d} (MB), peak = {mem}.{n2:02d} (MB)",
    "[INFO GRT-0101] Running extra iterations to remove overflow.",
    "[INFO RSZ-0039] Resized {n} instances.",
    "[INFO GPL-0006] NumInstances: {n}",
    "      {n} |     0.{n2:04d} |  1.{n:06d}e+06 |   +0.{n2:02d}% |  2.{n2:02d}e-03 |      ",
    "[INFO DPL-0035]  _{n}_",
    "[INFO GRT-0018] Total wirelength: {n} um",
    "[INFO ODB-0131]     Created {n} components and {n2} component-terminals.",
    "worst slack -0.{n2:03d}",
    "[INFO CTS-0010]  Clock net \"clk_i\" has {n} sinks.",
    "Iteration | Overflow | HPWL (um) | HPWL(%) | Penalty | Group",
    "---------------------------------------------------------------",
]
DENSE_WORDY = [  # harmless lines that contain a failure word (the prefilter keeps them)
    "  Number of DRC errors: {n2}",
    "    errors = 0, warnings = {n2}",
    "  Total number of errors: 0",
    "  pin access failed for 0 of {n} pins, retrying with relaxed spacing",
    "  retry {n2}/3 failed, retrying in 2 s",
    "set ::env(DETAILED_ROUTE_TIMEOUT) {n}",
    "  grt timeout = {n} s",
    "  Invalid pins: 0",
    "  Missing vias: 0",
    "  repair_timing: 0 errors, {n2} hold violations repaired",
    "Elapsed time: 0:{m:02d}.{s:02d}[h:]min:sec. CPU time: user {n2}.{s:02d} sys 0.{m:02d} (99%). Peak memory: {n}KB.",
    "  {n} nets with signal wires routed",
    "  Memory allocated: {mem} MB",
]
DENSE_WORDY_INFO = [  # OpenROAD logger lines with a failure word (never candidates)
    "[WARNING STA-1173] /platforms/nangate45/lib/NangateOpenCellLibrary_typical.lib line 1, default_operating_condition typical not found.",
    "[INFO DRT-0180] Post processing: {n} failed accesses fixed.",
    "[WARNING DRT-0120] Large net {n} has {n2} pins which may impact routing performance. Consider optimization.",
    "[INFO GRT-0053] Routing resources analysis: error tolerance {n2}%.",
]

# (weight, return code, stderr, tail of stdout)
MIX = [
    (90.0, 0, "", ""),
    (4.0, 137, "", "[INFO DRT-0195] Start 2nd optimization iteration.\n"),
    (2.0, 124, "\n[HARD_TIMEOUT] Trial exceeded hard timeout limit of 3600 seconds\n", ""),
    (1.5, 139, "Signal 11 received\nStack trace:\n 0# 0x00005DD6940A7CE3 in openroad\nSegmentation fault (core dumped)\n", ""),
    (1.5, 1, "[ERROR GRT-0116] Global routing finished with congestion. Check the congestion regions in the DRC Viewer.\nError: cr.tcl, 41 GRT-0116\n", ""),
    (1.0, 1, "couldn't read file \"/snapshot/ibex_core.odb\": no such file or directory\n", ""),
]


def _block(rng: random.Random, nbytes: int, profile: str = "sparse") -> str:
    """About nbytes of OpenROAD-looking lines (dense: ~7 % carry a failure word, ~5 % kept)."""
    out, size = [], 0
    while size < nbytes:
        if profile == "dense":
            roll = rng.random()
            pool = DENSE_WORDY if roll < 0.05 else DENSE_WORDY_INFO if roll < 0.07 else DENSE_LINES
        else:
            pool = LINES
        line = rng.choice(pool).format(n=rng.randint(1, 999999), n2=rng.randint(0, 99), p=rng.randint(1, 99),
                                        m=rng.randint(0, 59), s=rng.randint(0, 59), mem=rng.randint(900, 7900))
        out.append(line)
        size += len(line) + 1
    return "\n".join(out) + "\n"


def generate(out: Path, trials: int, total_mb: float, seed: int, profile: str = "sparse") -> None:
    rng = random.Random(seed)
    study = "bench_study"
    report_dir = out / study
    per_trial = int(total_mb * 1e6 / trials)
    # a pool of pre-generated 256 KB blocks keeps generation fast and the text varied
    pool = [_block(rng, 256_000, profile) for _ in range(16)]
    start = datetime(2026, 11, 1, tzinfo=UTC)
    weights = [m[0] for m in MIX]
    stages = 3
    per_stage = max(1, trials // stages)
    clock = 0.0
    for i in range(trials):
        stage, t = min(i // per_stage, stages - 1), i - min(i // per_stage, stages - 1) * per_stage
        _, rc, stderr, tail = rng.choices(MIX, weights)[0]
        eco = "noop" if t == 0 else ECOS[1 + (t - 1) % (len(ECOS) - 1)]
        case = f"bench_ibex_{stage}_{t}"
        tdir = report_dir / case / f"stage_{stage}" / f"trial_{t}"
        (tdir / "logs").mkdir(parents=True, exist_ok=True)
        runtime = 3600.0 if rc == 124 else round(rng.uniform(30, 900), 1)
        peak = round(rng.uniform(8150, 8191.9), 1) if rc == 137 else round(rng.uniform(600, 7000), 1)
        t_start = start + timedelta(seconds=clock)
        clock += runtime / 4  # several trials run in parallel
        summary = {
            "study_name": study, "case_name": case, "stage_index": stage, "trial_index": t, "success": rc == 0,
            "return_code": rc, "runtime_seconds": runtime, "start_time": t_start.isoformat(),
            "end_time": (t_start + timedelta(seconds=runtime)).isoformat(), "timed_out": rc == 124,
            "metrics": {}, "container_id": f"{rng.getrandbits(48):012x}", "peak_memory_mb": peak,
            "metadata": {"stage_name": f"stage_{stage}", "eco_type": eco, "eco_parameters": {}},
        }
        (tdir / "trial_summary.json").write_text(json.dumps(summary))
        with open(tdir / "logs" / "stdout.txt", "w") as fh:
            written = 0
            while written < per_trial:
                block = pool[rng.randrange(len(pool))]
                chunk = block if per_trial - written >= len(block) else block[: per_trial - written].rsplit("\n", 1)[0] + "\n"
                fh.write(chunk)
                written += len(chunk)
                if len(chunk) < len(block):
                    break
            fh.write(tail)
        (tdir / "logs" / "stderr.txt").write_text(stderr)
        samples = [peak * f for f in (0.3, 0.6, 0.9, 1.0)]
        (tdir / "docker_stats.jsonl").write_text("".join(json.dumps({
            "BlockIO": "0B / 13.3kB", "CPUPerc": "99.50%", "Container": summary["container_id"],
            "ID": summary["container_id"], "MemPerc": f"{100 * s / 8192:.2f}%",
            "MemUsage": f"{s / 1024:.4g}GiB / 8GiB", "Name": case, "NetIO": "0B / 0B", "PIDs": "9"}) + "\n"
            for s in samples))
        (tdir / "docker_inspect.json").write_text(json.dumps([{
            "Id": summary["container_id"] * 5 + "abcd",
            "State": {"Status": "exited", "OOMKilled": rc == 137 and rng.random() < 0.5, "ExitCode": rc,
                      "StartedAt": summary["start_time"].replace("+00:00", "Z"),
                      "FinishedAt": summary["end_time"].replace("+00:00", "Z")},
            "HostConfig": {"Memory": 8589934592}}]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--total-mb", type=float, default=1000.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", choices=("sparse", "dense"), default="sparse")
    args = parser.parse_args()
    generate(args.out, args.trials, args.total_mb, args.seed, args.profile)


if __name__ == "__main__":
    main()
