"""Walk roots and find every trial (Noodle 2 and generic layouts) and every study-level file."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .cgroup import CGROUP_FILES
from .config import TRIAL_CONFIG_NAMES

EXIT_FILES = ("exit_code", "exit_code.txt", "returncode", "rc")
STDOUT_FILES = ("stdout", "stdout.txt", "stdout.log", "logs/stdout.txt")
STDERR_FILES = ("stderr", "stderr.txt", "stderr.log", "logs/stderr.txt")
INSPECT_FILES = ("docker_inspect.json", "inspect.json")
STATS_FILES = ("docker_stats.jsonl", "docker_stats.json", "docker_stats.txt")
TIME_FILES = ("time.txt", "time.log")
KERNEL_FILES = ("dmesg.txt", "kernel.log")
STUDY_FILES = ("study_summary.json", "study_telemetry.json", "event_stream.ndjson")


@dataclass
class TrialArtifacts:
    root: str
    trial_dir: str                 # absolute path of the trial directory
    layout: str                    # noodle2 | generic
    files: dict[str, str]          # role -> absolute path
    cgroup: dict[str, str]         # cgroup file name -> absolute path
    fingerprint: str = ""


@dataclass
class StudyFile:
    root: str
    kind: str                      # study_summary | study_telemetry | event_stream | stage_telemetry | stage_summary | yaml
    path: str


@dataclass
class Discovery:
    trials: list[TrialArtifacts] = field(default_factory=list)
    study_files: list[StudyFile] = field(default_factory=list)
    errors: list[tuple[str, str, str, str]] = field(default_factory=list)  # root, path, error, hint


def _first(names: set[str], candidates: tuple[str, ...], trial_dir: str) -> str | None:
    for name in candidates:
        if name in names:
            return os.path.join(trial_dir, name)
    return None


def _trial(root: str, trial_dir: str, layout: str, entries: set[str]) -> TrialArtifacts:
    names = set(entries)
    for sub in ("logs", "cgroup"):
        if sub in entries:
            try:
                names.update(f"{sub}/{n}" for n in os.listdir(os.path.join(trial_dir, sub)))
            except OSError:
                pass
    files: dict[str, str] = {}
    for role, candidates in (
        ("exit", EXIT_FILES), ("stdout", STDOUT_FILES), ("stderr", STDERR_FILES),
        ("inspect", INSPECT_FILES), ("time", TIME_FILES), ("kernel", KERNEL_FILES),
        ("config", TRIAL_CONFIG_NAMES), ("summary", ("trial_summary.json",)),
        ("metrics", ("metrics.json",)),
    ):
        found = _first(names, candidates, trial_dir)
        if found:
            files[role] = found
    stats = _first(names, STATS_FILES, trial_dir) or next(
        (os.path.join(trial_dir, n) for n in sorted(names) if n.startswith("stats.")), None)
    if stats:
        files["stats"] = stats
    cgroup = {}
    for name in CGROUP_FILES:
        for candidate in (name, f"cgroup/{name}"):
            if candidate in names:
                cgroup[name] = os.path.join(trial_dir, candidate)
                break
    return TrialArtifacts(root, trial_dir, layout, files, cgroup)


def files_fingerprint(paths: Iterable[str], extra: str = "") -> str:
    """Names, sizes and mtimes of files (plus `extra`): a change to any of them changes the hash."""
    h = hashlib.blake2b(extra.encode(), digest_size=16)
    for path in sorted(paths):
        try:
            st = os.stat(path)
            h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        except OSError as exc:
            h.update(f"{path}\0error {exc.errno}\n".encode())
    return h.hexdigest()


def fingerprint(trial: TrialArtifacts, options: str) -> str:
    """Every artifact of the trial and the ingest options: a change to any re-reads the trial."""
    return files_fingerprint([*trial.files.values(), *trial.cgroup.values()], options)


def discover(roots: list[str]) -> Discovery:
    found = Discovery()
    for root in roots:
        root_abs = os.path.abspath(root)
        if not os.path.isdir(root_abs):
            found.errors.append((root_abs, root_abs, "not a directory", "the root was skipped"))
            continue
        seen: set[tuple[int, int]] = set()
        stack = [root_abs]
        while stack:
            current = stack.pop()
            try:
                st = os.stat(current)
            except OSError as exc:
                found.errors.append((root_abs, current, exc.strerror or str(exc), "the directory was skipped"))
                continue
            if (st.st_dev, st.st_ino) in seen:
                found.errors.append((root_abs, current, "symlink loop (directory already visited)",
                                     "the directory was not walked again"))
                continue
            seen.add((st.st_dev, st.st_ino))
            try:
                with os.scandir(current) as it:
                    entries = list(it)
            except OSError as exc:
                found.errors.append((root_abs, current, exc.strerror or str(exc), "the directory was skipped"))
                continue
            names = {e.name for e in entries}
            if "trial_summary.json" in names:
                found.trials.append(_trial(root_abs, current, "noodle2", names))
                continue
            if names.intersection(EXIT_FILES):
                found.trials.append(_trial(root_abs, current, "generic", names))
                continue
            for e in entries:
                if e.name in STUDY_FILES:
                    found.study_files.append(StudyFile(root_abs, e.name.rsplit(".", 1)[0], e.path))
                elif e.name.startswith("stage_") and e.name.endswith("_telemetry.json"):
                    found.study_files.append(StudyFile(root_abs, "stage_telemetry", e.path))
                elif e.name == "stage_summary.json":
                    found.study_files.append(StudyFile(root_abs, "stage_summary", e.path))
                elif e.name.endswith((".yaml", ".yml")):
                    found.study_files.append(StudyFile(root_abs, "yaml", e.path))
            for e in sorted(entries, key=lambda e: e.name, reverse=True):
                try:
                    if e.is_dir():
                        stack.append(e.path)
                except OSError as exc:
                    found.errors.append((root_abs, e.path, exc.strerror or str(exc), "skipped"))
    found.trials.sort(key=lambda t: t.trial_dir)
    return found


def study_dir_of(trial: TrialArtifacts) -> str:
    """A Noodle 2 trial lives in `<study report dir>/<case>/stage_<s>/trial_<t>`."""
    return str(Path(trial.trial_dir).parents[2])
