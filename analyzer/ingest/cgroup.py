"""Copies of a trial's cgroup v1/v2 memory files (spec/formats.md section 4)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..units import MIB
from . import ParseError

CGROUP_FILES = (
    "memory.events", "memory.peak", "memory.max", "memory.current", "memory.stat",
    "memory.max_usage_in_bytes", "memory.limit_in_bytes", "memory.oom_control", "memory.failcnt",
    "memory.usage_in_bytes",
)
_V1_UNLIMITED = 1 << 62


@dataclass
class CgroupFacts:
    peak_mb: float | None = None
    limit_mb: float | None = None
    unlimited: bool = False
    current_bytes: float | None = None
    oom_kill: int | None = None
    oom: int | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)  # (file name, problem)


def _int(name: str, text: str) -> int:
    value = text.strip()
    try:
        return int(value)
    except ValueError as exc:
        raise ParseError(f"{name}: expected one integer, found {value[:40]!r}") from exc


def _flat_keyed(name: str, text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            raise ParseError(f"{name}: expected `key value` lines, found {line[:60]!r}")
        try:
            out[parts[0]] = int(parts[1])
        except ValueError as exc:
            raise ParseError(f"{name}: non-integer value in {line[:60]!r}") from exc
    return out


def read_cgroup_file(facts: CgroupFacts, name: str, text: str) -> None:
    """Fold one cgroup file into `facts`; raises ParseError on a malformed file."""
    if name == "memory.peak":
        facts.peak_mb = _int(name, text) / MIB
    elif name == "memory.max_usage_in_bytes":
        if facts.peak_mb is None:
            facts.peak_mb = _int(name, text) / MIB
    elif name == "memory.max":
        value = text.strip()
        if value == "max":
            facts.unlimited = True
        else:
            facts.limit_mb = _int(name, value) / MIB
    elif name == "memory.limit_in_bytes":
        value = _int(name, text)
        if value >= _V1_UNLIMITED:
            facts.unlimited = True
        elif facts.limit_mb is None:
            facts.limit_mb = value / MIB
    elif name in ("memory.current", "memory.usage_in_bytes"):
        facts.current_bytes = float(_int(name, text))
    elif name == "memory.events":
        events = _flat_keyed(name, text)
        # missing keys are unknown, not 0
        if "oom_kill" in events:
            facts.oom_kill = events["oom_kill"]
        if "oom" in events:
            facts.oom = events["oom"]
    elif name == "memory.oom_control":
        control = _flat_keyed(name, text)
        if "oom_kill" in control:  # kernel >= 4.13 only
            facts.oom_kill = control["oom_kill"]
    elif name in ("memory.stat",):
        _flat_keyed(name, text)
    elif name == "memory.failcnt":
        _int(name, text)
