"""`docker inspect` output: a one-element array, an object, a bare `State` object, `{{json .State}}`
lines, or a pasted `"State": {...}` fragment. See spec/formats.md section 3."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..units import MIB
from . import ParseError
from .safe_io import loads_json, sub_dict


@dataclass
class InspectResult:
    oom_killed: bool | None = None
    exit_code: Any = None
    started_at: Any = None         # raw: the typed record checks times
    finished_at: Any = None
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
    state: dict[str, Any] = doc["State"] if isinstance(doc.get("State"), dict) else doc
    if "OOMKilled" not in state and "ExitCode" not in state:
        raise ParseError("no State.OOMKilled or State.ExitCode in docker inspect output")
    config = sub_dict(doc, "Config")
    name = doc.get("Name")
    result = InspectResult(
        oom_killed=state.get("OOMKilled") if isinstance(state.get("OOMKilled"), bool) else None,
        exit_code=state.get("ExitCode"),
        started_at=state.get("StartedAt"),
        finished_at=state.get("FinishedAt"),
        status=_text(state.get("Status")),
        container_id=_text(doc.get("Id")),
        name=name.lstrip("/") or None if isinstance(name, str) else None,
        image=_text(config.get("Image")) or _text(doc.get("Image")),
    )
    args: list[Any] = doc["Args"] if isinstance(doc.get("Args"), list) else []
    cmd = [*([doc["Path"]] if isinstance(doc.get("Path"), str) and doc["Path"] else []), *args]
    config_cmd: list[Any] = config["Cmd"] if isinstance(config.get("Cmd"), list) else []
    result.command = " ".join(map(str, cmd)) or (" ".join(map(str, config_cmd)) or None)
    host = doc.get("HostConfig")
    if isinstance(host, dict) and isinstance(host.get("Memory"), int) and not isinstance(host["Memory"], bool):
        if host["Memory"] > 0:
            result.memory_limit_mb = host["Memory"] / MIB
        else:
            result.memory_unlimited = True  # 0 = no limit (spec/formats.md 3.2)
    return result


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _load(text: str) -> object:
    stripped = text.strip()
    if not stripped:
        raise ParseError("empty docker inspect file")
    try:
        return loads_json(stripped)
    except json.JSONDecodeError as first:
        # a pasted fragment: `"State": { ... }`
        if stripped.startswith('"'):
            try:
                return loads_json("{" + stripped + "}")
            except json.JSONDecodeError:
                pass
        # `docker inspect -f '{{json .State}}'` run several times: the last line is the latest
        lines = [ln for ln in stripped.splitlines() if ln.strip()]
        if len(lines) > 1:
            try:
                return loads_json(lines[-1])
            except json.JSONDecodeError:
                pass
        raise ParseError(
            f"not valid JSON (line {first.lineno}, column {first.colno}: {first.msg})"
        ) from first


_SALVAGE = {
    "oom_killed": re.compile(r'"OOMKilled"\s*:\s*(true|false)'),
    "exit_code": re.compile(r'"ExitCode"\s*:\s*(-?\d{1,20})\b'),
    "memory": re.compile(r'"Memory"\s*:\s*(\d{1,20})\b'),
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
