"""`docker inspect` output: a one-element array, an object, a bare `State` object, `{{json .State}}`
lines, or a pasted `"State": {...}` fragment. See spec/formats.md section 3."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from ..units import MIB, parse_time
from . import ParseError


@dataclass
class InspectResult:
    oom_killed: bool | None = None
    exit_code: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    memory_limit_mb: float | None = None
    memory_unlimited: bool = False
    container_id: str | None = None
    name: str | None = None
    image: str | None = None
    command: str | None = None
    status: str | None = None


def parse_docker_inspect(text: str) -> InspectResult:
    doc = _load(text)
    if isinstance(doc, list):
        if not doc:
            raise ParseError("docker inspect array is empty")
        doc = doc[0]
    if not isinstance(doc, dict):
        raise ParseError("docker inspect output is not an object or a one-element array")
    state = doc.get("State") if isinstance(doc.get("State"), dict) else doc
    if "OOMKilled" not in state and "ExitCode" not in state:
        raise ParseError("no State.OOMKilled or State.ExitCode in docker inspect output")
    result = InspectResult(
        oom_killed=state.get("OOMKilled") if isinstance(state.get("OOMKilled"), bool) else None,
        exit_code=state.get("ExitCode") if isinstance(state.get("ExitCode"), int) else None,
        started_at=parse_time(state.get("StartedAt")),
        finished_at=parse_time(state.get("FinishedAt")),
        status=state.get("Status"),
        container_id=doc.get("Id"),
        name=(doc.get("Name") or "").lstrip("/") or None,
        image=(doc.get("Config") or {}).get("Image") or doc.get("Image"),
    )
    config = doc.get("Config") or {}
    cmd = [*(doc.get("Path") and [doc["Path"]] or []), *(doc.get("Args") or [])]
    result.command = " ".join(map(str, cmd)) or (" ".join(config.get("Cmd") or []) or None)
    host = doc.get("HostConfig")
    if isinstance(host, dict) and isinstance(host.get("Memory"), int):
        if host["Memory"] > 0:
            result.memory_limit_mb = host["Memory"] / MIB
        else:
            result.memory_unlimited = True  # 0 = no limit (spec/formats.md 3.2)
    return result


def _load(text: str) -> object:
    stripped = text.strip()
    if not stripped:
        raise ParseError("empty docker inspect file")
    try:
        return json.loads(stripped)
    except json.JSONDecodeError as first:
        # a pasted fragment: `"State": { ... }`
        if stripped.startswith('"'):
            try:
                return json.loads("{" + stripped + "}")
            except json.JSONDecodeError:
                pass
        # `docker inspect -f '{{json .State}}'` run several times: the last line is the latest
        lines = [ln for ln in stripped.splitlines() if ln.strip()]
        if len(lines) > 1:
            try:
                return json.loads(lines[-1])
            except json.JSONDecodeError:
                pass
        raise ParseError(
            f"not valid JSON (line {first.lineno}, column {first.colno}: {first.msg})"
        ) from first


_SALVAGE = {
    "oom_killed": re.compile(r'"OOMKilled"\s*:\s*(true|false)'),
    "exit_code": re.compile(r'"ExitCode"\s*:\s*(-?\d+)'),
    "memory": re.compile(r'"Memory"\s*:\s*(\d+)'),
}


def salvage_docker_inspect(text: str) -> InspectResult | None:
    """Key fields from a damaged inspect dump (truncated, or a paste with `...` elisions)."""
    found = {k: p.search(text) for k, p in _SALVAGE.items()}
    if not any(found.values()):
        return None
    result = InspectResult()
    if found["oom_killed"]:
        result.oom_killed = found["oom_killed"].group(1) == "true"
    if found["exit_code"]:
        result.exit_code = int(found["exit_code"].group(1))
    if found["memory"]:
        memory = int(found["memory"].group(1))
        result.memory_limit_mb = memory / MIB if memory else None
        result.memory_unlimited = memory == 0
    return result
