"""`/usr/bin/time -v` output (spec/formats.md section 7)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SIGNAL = re.compile(r"Command terminated by signal (\d+)")
_NONZERO = re.compile(r"Command exited with non-zero status (\d+)")


@dataclass
class TimeFacts:
    max_rss_kb: int | None = None
    elapsed_seconds: float | None = None
    exit_status: int | None = None
    signal: int | None = None


def _elapsed(value: str) -> float | None:
    """`0:01.59`, `1:02:03` -> seconds."""
    if not re.fullmatch(r"[0-9:.]{1,30}", value):
        return None
    try:
        parts = [float(p) for p in value.split(":")]
    except ValueError:
        return None
    seconds = 0.0
    for p in parts:
        seconds = seconds * 60 + p
    return seconds


def parse_gnu_time(text: str) -> TimeFacts | None:
    facts = TimeFacts()
    found = False
    for line in text.splitlines():
        stripped = line.strip()
        if len(stripped) > 200:
            continue
        if m := _SIGNAL.search(stripped):
            facts.signal, found = int(m.group(1)), True
            continue
        if m := _NONZERO.search(stripped):
            facts.exit_status, found = int(m.group(1)), True
            continue
        label, sep, value = stripped.rpartition(": ")
        if not sep:
            continue
        if label == "Maximum resident set size (kbytes)" and re.fullmatch(r"[0-9]{1,30}", value.strip()):
            facts.max_rss_kb, found = int(value), True
        elif label.startswith("Elapsed (wall clock) time"):
            facts.elapsed_seconds, found = _elapsed(value.strip()), True
        elif label == "Exit status" and re.fullmatch(r"-?[0-9]{1,30}", value.strip()):
            facts.exit_status, found = int(value), True
    return facts if found else None
