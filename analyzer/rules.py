"""The failure taxonomy and rules file -> a validated RuleSet (Polars regexes, signal settings)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from .errors import RulesError
from .resources import rules_path

STREAMS = ("stdout", "stderr", "kernel", "time")
CONFIDENCES = ("confirmed", "strong", "probable")
KINDS = ("sigkill", "explicit_kill")
SEVERITIES = ("critical", "high", "medium", "low", "info")
CATASTROPHIC_TYPES = ("out_of_memory", "segfault", "core_dump")
TRANSIENT_TYPES = ("network_error", "resource_busy", "container_error", "filesystem_error")
_RULE_FIELDS = {"id", "type", "pattern", "confidence", "precedence", "streams", "only_failed",
                "case_sensitive", "kind", "description"}


@dataclass(frozen=True)
class Rule:
    id: str
    type: str
    pattern: str          # as written
    regex: str            # what Polars runs ((?i) added unless case_sensitive)
    precedence: int
    streams: tuple[str, ...]
    only_failed: bool
    confidence: str | None
    kind: str | None


@dataclass(frozen=True)
class Signal:
    name: str
    type: str
    precedence: int
    confidence: str | None
    kind: str | None


@dataclass
class RuleSet:
    version: str
    rules: list[Rule]
    signals: dict[str, Signal]
    types: dict[str, dict[str, Any]]
    eco_classes: dict[str, str] = field(default_factory=dict)

    def types_frame(self) -> pl.DataFrame:
        """failure_type -> severity, recoverable, family, label, catastrophic, transient."""
        rows = [{"failure_type": name, "severity": t["severity"], "recoverable": t["recoverable"],
                 "family": t["family"], "label": t.get("label", name),
                 "catastrophic": name in CATASTROPHIC_TYPES or t["severity"] == "critical",
                 "transient": name in TRANSIENT_TYPES}
                for name, t in self.types.items()]
        return pl.DataFrame(rows)


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise RulesError(f"{path}: cannot read rules file: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: not valid TOML: {exc}") from exc


def _problems(doc: dict[str, Any], types: dict[str, Any], where: str) -> list[str]:
    """Every problem in a rules document, each naming the rule (or table) and the field."""
    out: list[str] = []
    for name, t in (doc.get("types") or {}).items():
        if not isinstance(t, dict):
            out.append(f"{where}: types.{name}: must be a table")
            continue
        if t.get("severity") not in SEVERITIES:
            out.append(f"{where}: types.{name}.severity: {t.get('severity')!r} is not one of {', '.join(SEVERITIES)}")
        if not isinstance(t.get("recoverable"), bool):
            out.append(f"{where}: types.{name}.recoverable: must be true or false")
        if not isinstance(t.get("family"), str):
            out.append(f"{where}: types.{name}.family: missing")
    for name, s in (doc.get("signals") or {}).items():
        if not isinstance(s, dict) or s.get("type") not in types:
            out.append(f"{where}: signals.{name}.type: {(s or {}).get('type')!r} is not a known failure_type")
    rules = doc.get("rules") or []
    if not isinstance(rules, list):
        return out + [f"{where}: rules: must be an array of tables ([[rules]])"]
    for i, r in enumerate(rules):
        label = f"{where}: rule {r.get('id', f'#{i + 1}')!s}" if isinstance(r, dict) else f"{where}: rule #{i + 1}"
        if not isinstance(r, dict):
            out.append(f"{label}: must be a table")
            continue
        for key in set(r) - _RULE_FIELDS:
            out.append(f"{label}.{key}: unknown field (known: {', '.join(sorted(_RULE_FIELDS))})")
        if not isinstance(r.get("id"), str) or not r.get("id"):
            out.append(f"{label}.id: missing")
        if r.get("type") not in types:
            out.append(f"{label}.type: {r.get('type')!r} is not a known failure_type")
        if r.get("type") == "out_of_memory" and r.get("confidence") not in CONFIDENCES:
            out.append(f"{label}.confidence: out_of_memory rules need one of {', '.join(CONFIDENCES)}")
        if r.get("confidence") is not None and r.get("confidence") not in CONFIDENCES:
            out.append(f"{label}.confidence: {r.get('confidence')!r} is not one of {', '.join(CONFIDENCES)}")
        if r.get("kind") is not None and r.get("kind") not in KINDS:
            out.append(f"{label}.kind: {r.get('kind')!r} is not one of {', '.join(KINDS)}")
        if not isinstance(r.get("precedence", 100), int):
            out.append(f"{label}.precedence: must be an integer (lower wins)")
        streams = r.get("streams", list(STREAMS))
        if not isinstance(streams, list) or any(s not in STREAMS for s in streams):
            out.append(f"{label}.streams: must be a list drawn from {', '.join(STREAMS)}")
        pattern = r.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            out.append(f"{label}.pattern: missing")
        else:
            try:
                pl.Series([""]).str.contains(_regex(pattern, bool(r.get("case_sensitive"))))
            except pl.exceptions.PolarsError as exc:
                first = str(exc).strip().splitlines()
                out.append(f"{label}.pattern: not a valid regex: {first[-1] if first else exc}")
    return out


def _regex(pattern: str, case_sensitive: bool) -> str:
    return pattern if case_sensitive else f"(?i){pattern}"


def check_rules(path: str | Path) -> list[str]:
    """Problems of a user rules file (empty list = valid), checked against the defaults."""
    base = _load_toml(rules_path())
    doc = _load_toml(Path(path))
    types = {**base.get("types", {}), **(doc.get("types") or {})}
    problems = _problems(doc, types, str(path))
    if "version" not in doc:
        problems.append(f"{path}: version: missing (every verdict records the rules version)")
    return problems


def load_rules(user_path: str | Path | None = None) -> RuleSet:
    """The shipped rules, with a user file's rules, signals, types and ECO classes merged in."""
    doc = _load_toml(rules_path())
    version = str(doc["version"])
    merged_rules = {r["id"]: r for r in doc.get("rules", [])}
    types = dict(doc.get("types", {}))
    signals = dict(doc.get("signals", {}))
    eco = dict(doc.get("eco_classes", {}))
    if user_path:
        problems = check_rules(user_path)
        if problems:
            raise RulesError("invalid rules file:\n  " + "\n  ".join(problems))
        user = _load_toml(Path(user_path))
        version = f"{version}+{user['version']}"
        types.update(user.get("types") or {})
        signals.update({k: {**signals.get(k, {}), **v} for k, v in (user.get("signals") or {}).items()})
        eco.update(user.get("eco_classes") or {})
        merged_rules.update({r["id"]: r for r in user.get("rules") or []})
    rules = [
        Rule(id=r["id"], type=r["type"], pattern=r["pattern"],
             regex=_regex(r["pattern"], bool(r.get("case_sensitive"))),
             precedence=int(r.get("precedence", 100)), streams=tuple(r.get("streams", STREAMS)),
             only_failed=bool(r.get("only_failed", True)), confidence=r.get("confidence"),
             kind=r.get("kind"))
        for r in merged_rules.values()
    ]
    sigs = {name: Signal(name, s["type"], int(s.get("precedence", 100)), s.get("confidence"), s.get("kind"))
            for name, s in signals.items()}
    return RuleSet(version, rules, sigs, types, eco)
