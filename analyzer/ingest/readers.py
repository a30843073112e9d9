"""The table of readers: artifact role -> file names -> reader.

Each reader takes one file's text and returns `Facts` (raw values named after trial_facts
columns, memory samples, notes about what was salvaged) or raises `ParseError`. Adding a format
is one reader function (in its own module) and one row of `READERS`; discovery (which files a
trial has) and the pipeline (which reader reads them, in which order) both come from this table.
Values are raw: the typed record (record.py) checks every one, so a reader never needs to.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import ParseError
from .cgroup import CGROUP_FILES, cgroup_facts
from .config import TRIAL_CONFIG_NAMES, load_mapping, memory_limit_mb

if TYPE_CHECKING:
    from .docker_stats import MemorySample

# The parsers are imported by the readers that use them, when first called: discovery needs only
# this table's names, and an unchanged re-ingest (a walk and one look in the store) would
# otherwise import every format's parser (about 10 ms of its 0.4 s).

EXIT_FILES = ("exit_code", "exit_code.txt", "returncode", "rc")
STDOUT_FILES = ("stdout", "stdout.txt", "stdout.log", "logs/stdout.txt")
STDERR_FILES = ("stderr", "stderr.txt", "stderr.log", "logs/stderr.txt")
INSPECT_FILES = ("docker_inspect.json", "inspect.json")
STATS_FILES = ("docker_stats.jsonl", "docker_stats.json", "docker_stats.txt", "stats.*")
TIME_FILES = ("time.txt", "time.log")
KERNEL_FILES = ("dmesg.txt", "kernel.log")
SUMMARY_FILE = "trial_summary.json"


@dataclass
class Facts:
    """What one file says about its trial."""

    values: dict[str, Any] = field(default_factory=dict)     # trial_facts column -> raw value
    samples: list[MemorySample] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (problem, hint): partial reads
    max_usage_bytes: float | None = None                        # docker stats' own peak


Read = Callable[[str, str], Facts]  # (path, text) -> Facts, or ParseError


@dataclass(frozen=True)
class Reader:
    role: str                      # key of TrialArtifacts.files
    names: tuple[str, ...]         # file names in the trial directory, first match wins
    read: Read | None              # None: a log only, streamed by logs.scan_logs
    log_stream: str | None = None  # also scanned as this log stream
    hint: str = "the trial was ingested without it"


def read_trial_summary(path: str, text: str) -> Facts:
    from .noodle2 import load_json, trial_summary_facts

    values = trial_summary_facts(load_json(text))
    values["exit_code_source"] = "trial_summary"
    return Facts(values)


def read_trial_config(path: str, text: str) -> Facts:
    config = load_mapping(Path(path), text)
    stage = config.get("stage")
    named_stage = isinstance(stage, str) and not stage.strip().lstrip("+-").isdigit()
    values = {
        "study": config.get("study"), "case_name": config.get("case"),
        # a stage may be a number (Noodle 2) or a flow step's name (`detailed_route`)
        "stage_index": None if named_stage else stage, "stage_name": stage if named_stage else None,
        "trial_index": config.get("trial"),
        "eco_name": config.get("eco_name") or config.get("eco_type"),
        "eco_class": config.get("eco_class"), "started_at": config.get("started_at"),
        "finished_at": config.get("finished_at"), "command": config.get("command"),
        "image": config.get("image"), "timeout_seconds": config.get("timeout_seconds"),
    }
    facts = Facts(values)
    try:
        values["limit_config_mb"] = memory_limit_mb(config.get("memory_limit"), "memory_limit")
    except ParseError as exc:
        facts.notes.append((exc.problem, exc.hint))
    return facts


def read_exit_code(path: str, text: str) -> Facts:
    value = text.strip()
    hint = "the exit code was recorded as unknown"
    if not value:
        raise ParseError("empty exit code file", hint)
    if len(value) > 40 or not value.isascii() or not value.lstrip("+-").isdigit():
        raise ParseError(f"exit code file holds {value[:40]!r}, not one integer", hint)
    return Facts({"exit_code": int(value), "exit_code_source": os.path.basename(path)})


def read_docker_inspect(path: str, text: str) -> Facts:
    from .docker_inspect import parse_docker_inspect, salvage_docker_inspect

    notes = []
    try:
        facts = parse_docker_inspect(text)
    except ParseError as exc:
        salvaged = salvage_docker_inspect(text)
        if salvaged is None:
            raise
        facts = salvaged
        notes.append((exc.problem, "OOMKilled / ExitCode / Memory were recovered by pattern; "
                                   "the rest was dropped"))
    return Facts({
        "oom_killed": facts.oom_killed, "exit_code": facts.exit_code,
        "exit_code_source": "docker_inspect", "started_at": facts.started_at,
        "finished_at": facts.finished_at, "limit_inspect_mb": facts.memory_limit_mb,
        "limit_inspect_unlimited": facts.memory_unlimited,
        "container_id": facts.container_id or facts.name, "command": facts.command,
        "image": facts.image,
    }, notes=notes)


def read_docker_stats(path: str, text: str) -> Facts:
    from .docker_stats import PartialStats, parse_docker_stats

    notes = []
    try:
        result = parse_docker_stats(text)
    except PartialStats as exc:
        notes.append((exc.problem, exc.hint))
        result = exc.result
    return Facts({"oom_events": result.oom_events}, samples=result.samples, notes=notes,
                 max_usage_bytes=result.max_usage_bytes)


def read_cgroup(name: str, path: str, text: str) -> Facts:
    from .docker_stats import MemorySample

    values = cgroup_facts(name, text)
    current = values.pop("current_bytes", None)
    # cgroup_facts gives numbers for *_bytes keys; anything else is no sample
    samples = ([MemorySample(0, None, float(current), None, "cgroup", None)]
               if isinstance(current, int | float) and not isinstance(current, bool) else [])
    return Facts(values, samples=samples)


def read_gnu_time(path: str, text: str) -> Facts:
    from .gnu_time import parse_gnu_time

    facts = parse_gnu_time(text)
    if facts is None:
        return Facts()
    return Facts({"peak_time_mb": facts.max_rss_kb / 1024 if facts.max_rss_kb else None,
                  "runtime_seconds": facts.elapsed_seconds})


# The order is the precedence: for each field the first reader that gives a good value wins
# (the trial's own summary/config/exit file before Docker's view, cgroup before docker stats).
READERS: tuple[Reader, ...] = (
    Reader("summary", (SUMMARY_FILE,), read_trial_summary),
    Reader("config", TRIAL_CONFIG_NAMES, read_trial_config),
    Reader("exit", EXIT_FILES, read_exit_code, hint="the exit code was recorded as unknown"),
    Reader("inspect", INSPECT_FILES, read_docker_inspect),
    *(Reader(f"cgroup/{name}", (name, f"cgroup/{name}"), partial(read_cgroup, name),
             hint="the value was treated as unknown") for name in CGROUP_FILES),
    Reader("stats", STATS_FILES, read_docker_stats, hint="no memory samples were taken from it"),
    Reader("time", TIME_FILES, read_gnu_time, log_stream="time"),
    Reader("stdout", STDOUT_FILES, None, log_stream="stdout"),
    Reader("stderr", STDERR_FILES, None, log_stream="stderr"),
    Reader("kernel", KERNEL_FILES, None, log_stream="kernel"),
    # found and fingerprinted here; read with the trial's metadata*.json by metrics.read_metric_files
    Reader("metrics", ("metrics.json",), None),
)
BY_ROLE = {r.role: r for r in READERS}
LOG_ROLES = tuple(r.role for r in READERS if r.log_stream)
SUBDIRS = ("logs", "cgroup")  # names like `logs/stdout.txt` look one level down
