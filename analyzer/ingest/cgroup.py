"""Copies of a trial's cgroup v1/v2 memory files (spec/formats.md section 4)."""

from __future__ import annotations

from ..units import MIB
from . import ParseError

CGROUP_FILES = (
    "memory.events", "memory.peak", "memory.max", "memory.current", "memory.stat",
    "memory.max_usage_in_bytes", "memory.limit_in_bytes", "memory.oom_control", "memory.failcnt",
    "memory.usage_in_bytes",
)
_V1_UNLIMITED = 1 << 62


def _int(name: str, text: str) -> int:
    value = text.strip()
    if len(value) > 40 or not (value.isascii() and value.lstrip("-").isdigit()):
        raise ParseError(f"{name}: expected one integer, found {value[:40]!r}")
    return int(value)


def _flat_keyed(name: str, text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            raise ParseError(f"{name}: expected `key value` lines, found {line[:60]!r}")
        out[parts[0]] = _int(name, parts[1])
    return out


def cgroup_facts(name: str, text: str) -> dict[str, object]:
    """The trial facts one cgroup file gives (raw; record.py checks ranges); ParseError if
    malformed. `current_bytes` is the usage at copy time, kept as a memory sample."""
    if name in ("memory.peak", "memory.max_usage_in_bytes"):
        return {"peak_cgroup_mb": _int(name, text) / MIB}
    if name == "memory.max":
        value = text.strip()
        return {} if value == "max" else {"limit_cgroup_mb": _int(name, value) / MIB}
    if name == "memory.limit_in_bytes":
        limit = _int(name, text)
        return {} if limit >= _V1_UNLIMITED else {"limit_cgroup_mb": limit / MIB}
    if name in ("memory.current", "memory.usage_in_bytes"):
        return {"current_bytes": float(_int(name, text))}
    if name == "memory.events":
        events = _flat_keyed(name, text)  # missing keys are unknown, not 0
        return {"oom_kill_events": events.get("oom_kill"), "oom_events": events.get("oom")}
    if name == "memory.oom_control":
        return {"oom_kill_events": _flat_keyed(name, text).get("oom_kill")}  # kernel >= 4.13 only
    if name == "memory.stat":
        _flat_keyed(name, text)
    elif name == "memory.failcnt":
        _int(name, text)
    return {}
