"""Write a realistic finished Noodle 2 study of N trials for benchmarking (deterministic per seed).

    python benchmarks/generate.py OUT --trials 1000 --total-mb 1000 [--seed 1]

Each trial gets `trial_summary.json`, `logs/stdout.txt` (OpenROAD-style output with real message
ids, sized so the corpus totals --total-mb), `logs/stderr.txt`, `docker_stats.jsonl` (a few
`docker stats --format '{{json .}}'` samples) and `docker_inspect.json`. The failure mix is a real
study's: mostly successes, a few percent out-of-memory, timeouts and crashes.
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import datetime, timedelta, timezone
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

# (weight, return code, stderr, tail of stdout)
MIX = [
    (90.0, 0, "", ""),
    (4.0, 137, "", "[INFO DRT-0195] Start 2nd optimization iteration.\n"),
    (2.0, 124, "\n[HARD_TIMEOUT] Trial exceeded hard timeout limit of 3600 seconds\n", ""),
    (1.5, 139, "Signal 11 received\nStack trace:\n 0# 0x00005DD6940A7CE3 in openroad\nSegmentation fault (core dumped)\n", ""),
    (1.5, 1, "[ERROR GRT-0116] Global routing finished with congestion. Check the congestion regions in the DRC Viewer.\nError: cr.tcl, 41 GRT-0116\n", ""),
    (1.0, 1, "couldn't read file \"/snapshot/ibex_core.odb\": no such file or directory\n", ""),
]


def _block(rng: random.Random, nbytes: int) -> str:
    """About nbytes of OpenROAD-looking lines."""
    out, size = [], 0
    while size < nbytes:
        line = rng.choice(LINES).format(n=rng.randint(1, 999999), n2=rng.randint(0, 99), p=rng.randint(1, 99),
                                        m=rng.randint(0, 59), s=rng.randint(0, 59), mem=rng.randint(900, 7900))
        out.append(line)
        size += len(line) + 1
    return "\n".join(out) + "\n"


def generate(out: Path, trials: int, total_mb: float, seed: int) -> None:
    rng = random.Random(seed)
    study = "bench_study"
    report_dir = out / study
    per_trial = int(total_mb * 1e6 / trials)
    # a pool of pre-generated 256 KB blocks keeps generation fast and the text varied
    pool = [_block(rng, 256_000) for _ in range(16)]
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
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
    args = parser.parse_args()
    generate(args.out, args.trials, args.total_mb, args.seed)


if __name__ == "__main__":
    main()
