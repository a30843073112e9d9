"""The failure taxonomy and rules file -> a validated RuleSet (Polars regexes, signal settings,
message catalogs). Every fact about failure types (severity, recoverable, family; which families
are catastrophic or transient) lives in the rules file, not here."""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from .choices import STREAMS
from .errors import RulesError
from .resources import rules_path

CONFIDENCES = ("confirmed", "strong", "probable")
KINDS = ("sigkill", "explicit_kill")
SEVERITIES = ("critical", "high", "medium", "low", "info")
MAX_RULES_BYTES = 4 << 20

# field -> (expected Python types, what to write)
FieldSpec = dict[str, tuple[tuple[type, ...], str]]
_RULE_FIELDS: FieldSpec = {
    "id": ((str,), "a string"), "type": ((str,), "a failure_type name"),
    "pattern": ((str,), "a regex string"), "confidence": ((str,), "one of " + ", ".join(CONFIDENCES)),
    "precedence": ((int,), "an integer (lower wins)"), "streams": ((list,), "a list of stream names"),
    "only_failed": ((bool,), "true or false"), "case_sensitive": ((bool,), "true or false"),
    "kind": ((str,), "one of " + ", ".join(KINDS)), "description": ((str,), "a string"),
    "motivated_by": ((list,), "a list of source projects (owner/repo)"),
    "examples": ((list,), "a list of log lines the rule must match"),
    "counter_examples": ((list,), "a list of log lines the rule must not match"),
}
_TYPE_FIELDS: FieldSpec = {"severity": ((str,), "one of " + ", ".join(SEVERITIES)), "recoverable": ((bool,), "true or false"),
                "family": ((str,), "a family name"), "label": ((str,), "a string")}
_SIGNAL_FIELDS: FieldSpec = {"type": ((str,), "a failure_type name"), "precedence": ((int,), "an integer (lower wins)"),
                  "confidence": ((str,), "one of " + ", ".join(CONFIDENCES)), "kind": ((str,), "one of " + ", ".join(KINDS)),
                  "ratio": ((float, int), "a share of the memory limit, e.g. 0.95")}
_FAMILY_FIELDS: FieldSpec = {"catastrophic": ((bool,), "true or false"), "transient": ((bool,), "true or false")}
_CATALOG_FIELDS: FieldSpec = {"file": ((str,), "a TSV file name beside the rules file"),
                   "pattern": ((str,), "a regex with two groups: tool and message number"),
                   "levels": ((list,), "a list of levels, e.g. [\"ERROR\"]"),
                   "precedence": ((dict,), "a table failure_type -> precedence"),
                   "streams": ((list,), "a list of stream names"), "description": ((str,), "a string")}
_TOP_LEVEL: FieldSpec = {"version": ((str, int, float), "a string"), "description": ((str,), "a string"),
              "eco_classes": ((dict,), "a table"), "types": ((dict,), "a table"), "families": ((dict,), "a table"),
              "signals": ((dict,), "a table"), "rules": ((list,), "an array of tables ([[rules]])"),
              "catalogs": ((dict,), "a table"), "remedies": ((dict,), "a table failure_type -> text")}


@dataclass(frozen=True)
class Rule:
    """One text rule: a regex over the lines of some streams, and the failure type it signals."""

    id: str
    type: str
    pattern: str          # as written
    regex: str            # what Polars runs ((?i) added unless case_sensitive)
    precedence: int
    streams: tuple[str, ...]
    only_failed: bool
    confidence: str | None
    kind: str | None
    motivated_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Signal:
    """Settings of one structured signal (exit codes, OOM flags) classify.py computes."""

    name: str
    type: str
    precedence: int
    confidence: str | None
    kind: str | None
    ratio: float | None = None  # sigkill_near_limit: peak >= ratio x limit


@dataclass(frozen=True)
class Catalog:
    """A tool's message catalog: lines matching `regex` (groups: tool, number) are joined on
    (tool, number) against `frame` (tool, num, failure_type, precedence, level)."""
    name: str
    regex: str
    streams: tuple[str, ...]
    frame: pl.DataFrame


@dataclass
class RuleSet:
    """The merged rules (shipped + user file): rules, signals, taxonomy, ECO classes, catalogs."""

    version: str
    rules: list[Rule]
    signals: dict[str, Signal]
    types: dict[str, dict[str, Any]]
    eco_classes: dict[str, str] = field(default_factory=dict)
    families: dict[str, dict[str, Any]] = field(default_factory=dict)
    catalogs: list[Catalog] = field(default_factory=list)
    remedies: dict[str, str] = field(default_factory=dict)  # failure_type -> what to change (report)

    def types_frame(self) -> pl.DataFrame:
        """failure_type -> severity, recoverable, family, label, catastrophic, transient.
        A type is catastrophic when its family is (or its severity is critical, as Noodle 2
        counts), transient when its family is."""
        rows = [{"failure_type": name, "severity": t["severity"], "recoverable": t["recoverable"],
                 "family": t["family"], "label": t.get("label", name),
                 "catastrophic": bool(self.families.get(t["family"], {}).get("catastrophic"))
                 or t["severity"] == "critical",
                 "transient": bool(self.families.get(t["family"], {}).get("transient"))}
                for name, t in self.types.items()]
        return pl.DataFrame(rows)

    @property
    def near_limit_ratio(self) -> float:
        """The share of its memory limit at which a peak counts as "at the limit": a SIGKILL
        there is strong out-of-memory evidence (classify), and the `memory` view suggests a
        larger limit for out-of-memory trials there. The one place it is set is the rules file
        (signals.sigkill_near_limit.ratio); classify records it in the store's meta table."""
        sig = self.signals.get("sigkill_near_limit")
        if sig is None or sig.ratio is None:
            raise RulesError("rules: signals.sigkill_near_limit.ratio is missing; the shipped rules set it")
        return sig.ratio

    def without(self, projects: set[str]) -> RuleSet:
        """The rules a held-out evaluation may use: drop rules motivated only by `projects`."""
        kept = [r for r in self.rules if not r.motivated_by or not set(r.motivated_by) <= projects]
        return RuleSet(self.version, kept, self.signals, self.types, self.eco_classes, self.families, self.catalogs,
                       self.remedies)


def _read_bytes(path: Path) -> bytes:
    """A regular file of at most MAX_RULES_BYTES, opened without blocking (a FIFO never hangs)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise RulesError(f"{path}: cannot read rules file: {exc.strerror or exc}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise RulesError(f"{path}: not a regular file; give a TOML rules file")
        if st.st_size > MAX_RULES_BYTES:
            raise RulesError(f"{path}: {st.st_size} bytes is too large for a rules file "
                             f"(limit {MAX_RULES_BYTES}); is it the right file?")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(MAX_RULES_BYTES + 1)
    finally:
        os.close(fd)


def _load_toml(path: Path) -> dict[str, Any]:
    data = _read_bytes(path)
    if b"\x00" in data:
        raise RulesError(f"{path}: binary file (NUL bytes); a rules file is UTF-8 TOML text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RulesError(f"{path}: not UTF-8 (byte {exc.start}); save the rules file as UTF-8") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: not valid TOML: {exc}") from exc


def _typed(value: Any, spec: tuple[tuple[type, ...], str], label: str) -> list[str]:
    types, want = spec
    ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
    return [] if ok else [f"{label}: {value!r} is {type(value).__name__}; write {want}"]


def _fields(table: dict[str, Any], spec: dict[str, tuple[tuple[type, ...], str]], label: str) -> list[str]:
    """Unknown keys (with the closest known one) and wrong value types of one table."""
    out = []
    sep = " " if label.endswith(":") else "."
    for key, value in table.items():
        if key not in spec:
            near = min(spec, key=lambda k: _distance(k, key))
            out.append(f"{label}{sep}{key}: unknown field; did you mean {near!r}? (known: {', '.join(sorted(spec))})")
        else:
            out.extend(_typed(value, spec[key], f"{label}{sep}{key}"))
    return out


def _distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _regex_problem(regex: str) -> str | None:
    try:
        pl.Series([""]).str.contains(regex)
        return None
    except pl.exceptions.PolarsError as exc:
        first = str(exc).strip().splitlines()
        return first[-1] if first else str(exc)


def _example_problems(r: dict[str, Any], label: str) -> list[str]:
    """`examples` must match the rule's pattern, `counter_examples` must not."""
    regex = _regex(r["pattern"], bool(r.get("case_sensitive")))
    out = []
    for key, must in (("examples", True), ("counter_examples", False)):
        lines = r.get(key) or []
        if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
            continue
        if not lines:
            continue
        hits = pl.Series(lines, dtype=pl.String).str.contains(regex).to_list()
        for line, hit in zip(lines, hits):
            if hit != must:
                out.append(f"{label}.{key}: {line!r} {'does not match' if must else 'matches'} the pattern; "
                           f"fix the pattern or the {key[:-1].replace('_', '-')}")
    return out


def _problems(doc: dict[str, Any], types: dict[str, Any], where: str, families: set[str]) -> list[str]:
    """Every problem in a rules document, each naming the rule (or table), the field and the fix."""
    out: list[str] = _fields(doc, _TOP_LEVEL, f"{where}:")
    for name, t in (doc.get("types") or {}).items() if isinstance(doc.get("types"), dict) else ():
        label = f"{where}: types.{name}"
        if not isinstance(t, dict):
            out.append(f"{label}: must be a table ([types.{name}])")
            continue
        out.extend(_fields(t, _TYPE_FIELDS, label))
        if t.get("severity") not in SEVERITIES:
            out.append(f"{label}.severity: {t.get('severity')!r} is not one of {', '.join(SEVERITIES)}")
        if not isinstance(t.get("recoverable"), bool):
            out.append(f"{label}.recoverable: missing; write true or false")
        if not isinstance(t.get("family"), str):
            out.append(f"{label}.family: missing; write one of {', '.join(sorted(families))}")
        elif t["family"] not in families:
            out.append(f"{label}.family: {t['family']!r} is not a known family; add [families.{t['family']}] "
                       f"or use one of {', '.join(sorted(families))}")
    for name, f in (doc.get("families") or {}).items() if isinstance(doc.get("families"), dict) else ():
        if not isinstance(f, dict):
            out.append(f"{where}: families.{name}: must be a table")
        else:
            out.extend(_fields(f, _FAMILY_FIELDS, f"{where}: families.{name}"))
    for name, s in (doc.get("signals") or {}).items() if isinstance(doc.get("signals"), dict) else ():
        if not isinstance(s, dict):
            out.append(f"{where}: signals.{name}: must be a table")
            continue
        out.extend(_fields(s, _SIGNAL_FIELDS, f"{where}: signals.{name}"))
        if "type" in s and s.get("type") not in types:
            out.append(f"{where}: signals.{name}.type: {s.get('type')!r} is not a known failure_type")
    for name, c in (doc.get("catalogs") or {}).items() if isinstance(doc.get("catalogs"), dict) else ():
        if not isinstance(c, dict):
            out.append(f"{where}: catalogs.{name}: must be a table")
            continue
        out.extend(_fields(c, _CATALOG_FIELDS, f"{where}: catalogs.{name}"))
    for name, text in (doc.get("remedies") or {}).items() if isinstance(doc.get("remedies"), dict) else ():
        if name not in types:
            out.append(f"{where}: remedies.{name}: {name!r} is not a known failure_type; use one of {', '.join(sorted(types))}")
        if not isinstance(text, str) or not text.strip():
            out.append(f"{where}: remedies.{name}: must be a non-empty string (what to change)")
    rules = doc.get("rules") or []
    if not isinstance(rules, list):
        return out
    seen: dict[str, int] = {}
    for i, r in enumerate(rules):
        label = f"{where}: rule {r.get('id', f'#{i + 1}')!s}" if isinstance(r, dict) else f"{where}: rule #{i + 1}"
        if not isinstance(r, dict):
            out.append(f"{label}: must be a table ([[rules]])")
            continue
        out.extend(_fields(r, _RULE_FIELDS, label))
        rid = r.get("id")
        if not isinstance(rid, str) or not rid:
            out.append(f"{label}.id: missing; every rule needs a unique id")
        elif rid in seen:
            out.append(f"{label}.id: duplicate id (also rule #{seen[rid] + 1}); give each rule its own id")
        else:
            seen[rid] = i
        if r.get("type") not in types:
            out.append(f"{label}.type: {r.get('type')!r} is not a known failure_type; "
                       f"add [types.{r.get('type')}] or use one of {', '.join(sorted(types))}")
        if r.get("type") == "out_of_memory" and r.get("confidence") not in CONFIDENCES:
            out.append(f"{label}.confidence: out_of_memory rules need one of {', '.join(CONFIDENCES)}")
        elif isinstance(r.get("confidence"), str) and r["confidence"] not in CONFIDENCES:
            out.append(f"{label}.confidence: {r.get('confidence')!r} is not one of {', '.join(CONFIDENCES)}")
        if isinstance(r.get("kind"), str) and r["kind"] not in KINDS:
            out.append(f"{label}.kind: {r.get('kind')!r} is not one of {', '.join(KINDS)}")
        streams = r.get("streams", list(STREAMS))
        if isinstance(streams, list) and any(s not in STREAMS for s in streams):
            out.append(f"{label}.streams: must be a list drawn from {', '.join(STREAMS)}")
        pattern = r.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            out.append(f"{label}.pattern: missing; write a regex")
        else:
            problem = _regex_problem(_regex(pattern, bool(r.get("case_sensitive"))))
            if problem:
                out.append(f"{label}.pattern: not a valid regex: {problem}")
            else:
                out.extend(_example_problems(r, label))
    return out


def _regex(pattern: str, case_sensitive: Any) -> str:
    return pattern if case_sensitive is True else f"(?i){pattern}"


def check_rules(path: str | Path) -> list[str]:
    """Problems of a rules file (empty list = valid), checked against the shipped defaults."""
    base = _load_toml(rules_path())
    doc = _load_toml(Path(path))
    own_types, own_families = doc.get("types"), doc.get("families")
    types = {**base.get("types", {}), **(own_types if isinstance(own_types, dict) else {})}
    families = set(base.get("families", {})) | set(own_families if isinstance(own_families, dict) else {})
    problems = _problems(doc, types, str(path), families)
    if "version" not in doc:
        problems.append(f"{path}: version: missing; add version = \"...\" (every verdict records it)")
    return problems


def _catalog(name: str, spec: dict[str, Any], base_dir: Path) -> Catalog:
    path = base_dir / spec["file"]
    try:
        frame = pl.read_csv(path, separator="\t", comment_prefix="#", quote_char=None,
                            schema_overrides={"id": pl.String, "failure_type": pl.String})
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise RulesError(f"{path}: cannot read message catalog {name!r}: {exc}") from exc
    levels = spec.get("levels")  # default: every level (the log line's own [ERROR ...] decides)
    precedence = spec.get("precedence", {})
    if levels is not None:
        frame = frame.filter(pl.col("level").is_in(levels))
    frame = (frame.filter(pl.col("failure_type").is_not_null())
             .with_columns(num=pl.col("id").cast(pl.Int64, strict=False),
                           precedence=pl.col("failure_type").replace_strict(
                               precedence, default=precedence.get("default", 90), return_dtype=pl.Int64))
             .select("tool", "num", "failure_type", "precedence", "level")
             .unique(["tool", "num"], keep="first").sort("tool", "num"))
    return Catalog(name, spec["pattern"], tuple(spec.get("streams", STREAMS)), frame)


def load_rules(user_path: str | Path | None = None) -> RuleSet:
    """The shipped rules, with a user file's rules, signals, types and ECO classes merged in."""
    doc = _load_toml(rules_path())
    version = str(doc["version"])
    merged_rules = {r["id"]: r for r in doc.get("rules", [])}
    types = dict(doc.get("types", {}))
    families = dict(doc.get("families", {}))
    signals = dict(doc.get("signals", {}))
    eco = dict(doc.get("eco_classes", {}))
    catalogs = {name: (spec, rules_path().parent) for name, spec in doc.get("catalogs", {}).items()}
    remedies = dict(doc.get("remedies", {}))
    if user_path:
        problems = check_rules(user_path)
        if problems:
            raise RulesError("invalid rules file:\n  " + "\n  ".join(problems))
        user = _load_toml(Path(user_path))
        version = f"{version}+{user['version']}"
        types.update(user.get("types") or {})
        families.update(user.get("families") or {})
        signals.update({k: {**signals.get(k, {}), **v} for k, v in (user.get("signals") or {}).items()})
        eco.update(user.get("eco_classes") or {})
        merged_rules.update({r["id"]: r for r in user.get("rules") or []})
        catalogs.update({n: (s, Path(user_path).parent) for n, s in (user.get("catalogs") or {}).items()})
        remedies.update(user.get("remedies") or {})
    rules = [
        Rule(id=r["id"], type=r["type"], pattern=r["pattern"],
             regex=_regex(r["pattern"], r.get("case_sensitive")),
             precedence=int(r.get("precedence", 100)), streams=tuple(r.get("streams", STREAMS)),
             only_failed=bool(r.get("only_failed", True)), confidence=r.get("confidence"),
             kind=r.get("kind"), motivated_by=tuple(r.get("motivated_by", ())))
        for r in merged_rules.values()
    ]
    sigs = {name: Signal(name, s["type"], int(s.get("precedence", 100)), s.get("confidence"), s.get("kind"),
                         float(s["ratio"]) if "ratio" in s else None)
            for name, s in signals.items()}
    cats = [_catalog(name, spec, base) for name, (spec, base) in sorted(catalogs.items())]
    return RuleSet(version, rules, sigs, types, eco, families, cats, remedies)
