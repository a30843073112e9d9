"""The baseline: Noodle 2's classifier style, one trial at a time (read both logs, lower-case,
first substring hit wins, OOM first). `python benchmarks/naive_noodle2.py ROOT` prints counts."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter

CHECKS = [
    ("out_of_memory", ("out of memory", "oom", "killed", "signal 9")),
    ("segfault", ("segmentation fault", "segfault", "sigsegv", "signal 11")),
    ("core_dump", ("core dumped",)),
    ("network_error", ("network error", "connection refused", "connection timeout", "connection reset",
                       "no route to host", "temporary failure in name resolution")),
    ("timeout", ("timeout",)),
    ("tool_missing", ("command not found", "no such file")),
    ("placement_failed", ("placement failed",)),
    ("routing_failed", ("routing failed", "global routing finished with congestion")),
]


def classify(trial_dir: str) -> str:
    with open(os.path.join(trial_dir, "trial_summary.json")) as fh:
        rc = json.load(fh).get("return_code", 1)
    if rc == 0:
        return "success"
    text = ""
    for name in ("stderr.txt", "stdout.txt"):
        with open(os.path.join(trial_dir, "logs", name), errors="replace") as fh:
            text += fh.read() + "\n"
    text = text.lower()
    if rc == 137:
        return "out_of_memory"
    for failure_type, markers in CHECKS:
        if any(m in text for m in markers):
            return failure_type
    return "tool_crash"


def main(root: str) -> None:
    counts: Counter[str] = Counter()
    for dirpath, dirnames, filenames in os.walk(root):
        if "trial_summary.json" in filenames:
            counts[classify(dirpath)] += 1
            dirnames.clear()
    print(dict(counts))


if __name__ == "__main__":
    main(sys.argv[1])
