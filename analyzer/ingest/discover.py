"""Walk roots and find every trial (Noodle 2 and generic layouts) and every study-level file.

The walk never leaves a root and never opens anything: symbolic links (to files or directories)
whose target is outside the root are recorded and not followed, links inside the root are
followed once (a loop is recorded), and FIFOs, sockets and devices are recorded and skipped.
Which files a trial has comes from the table of readers (readers.py).
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISDIR, S_ISLNK, S_ISREG

from .readers import EXIT_FILES, READERS, SUBDIRS, SUMMARY_FILE
from .safe_io import kind_of

STUDY_FILES = ("study_summary.json", "study_telemetry.json", "event_stream.ndjson")
Problem = tuple[str, str, str]  # path, error, hint


@dataclass
class TrialArtifacts:
    root: str
    trial_dir: str                 # absolute path of the trial directory
    layout: str                    # noodle2 | generic
    files: dict[str, str]          # role -> absolute path of a regular file inside the root
    problems: list[Problem] = field(default_factory=list)  # files of this trial that were skipped
    fingerprint: str = ""
    stats: dict[str, tuple[int, int]] = field(default_factory=dict)  # path -> size, mtime_ns (the walk's)


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
    trials_per_root: dict[str, int] = field(default_factory=dict)


def _inside(path: str, root_real: str) -> bool:
    return path == root_real or path.startswith(root_real.rstrip(os.sep) + os.sep)


@dataclass
class _Listing:
    files: dict[str, str] = field(default_factory=dict)   # name -> path to open (links resolved)
    dirs: list[str] = field(default_factory=list)          # paths to walk (as seen under the root)
    problems: list[Problem] = field(default_factory=list)
    stats: dict[str, tuple[int, int]] = field(default_factory=dict)  # path to open -> size, mtime_ns
    dir_ids: dict[str, tuple[int, int]] = field(default_factory=dict)  # dir path -> st_dev, st_ino


def _list(directory: str, root_real: str) -> _Listing:
    """Regular files and directories of one directory, with links checked against the root."""
    out = _Listing()
    files, dirs, stats, dir_ids = out.files, out.dirs, out.stats, out.dir_ids
    with os.scandir(directory) as it:
        for e in it:  # the walk's hot loop (every entry of every trial): no call it can do without
            path = e.path
            try:
                st = e.stat(follow_symlinks=False)
                path_to_open = path
                if S_ISLNK(st.st_mode):
                    target = os.path.realpath(path)
                    if not _inside(target, root_real):
                        out.problems.append((path, f"symbolic link leaves the ingest root (-> {target})",
                                             "it was not followed"))
                        continue
                    try:
                        st = os.stat(target)
                    except OSError:
                        out.problems.append((path, f"dangling symbolic link (-> {target})", "it was skipped"))
                        continue
                    path_to_open = target
            except OSError as exc:
                out.problems.append((path, exc.strerror or str(exc), "it was skipped"))
                continue
            mode = st.st_mode
            if S_ISREG(mode):
                files[e.name] = path_to_open
                stats[path_to_open] = (st.st_size, st.st_mtime_ns)  # the fingerprint's, without a 2nd stat
            elif S_ISDIR(mode):
                dirs.append(path)
                dir_ids[path] = (st.st_dev, st.st_ino)
            else:
                out.problems.append((path, f"{kind_of(mode)}, not a regular file", "it was not opened"))
    return out


# Per role, its file names in order of preference, each with whether it is a glob (precomputed:
# the match runs for every trial).
_ROLE_NAMES = tuple((r.role, tuple((n, "*" in n) for n in r.names)) for r in READERS)


def _trial(root: str, trial_dir: str, layout: str, listing: _Listing, root_real: str) -> TrialArtifacts:
    files = listing.files
    stats = listing.stats
    problems = listing.problems
    for sub in SUBDIRS:
        sub_dir = os.path.join(trial_dir, sub)
        if sub_dir in listing.dir_ids:
            try:
                inner = _list(sub_dir, root_real)
            except OSError as exc:
                problems.append((sub_dir, exc.strerror or str(exc), "the folder was skipped"))
                continue
            files.update({f"{sub}/{n}": p for n, p in inner.files.items()})
            stats.update(inner.stats)
            problems.extend(inner.problems)
    roles: dict[str, str] = {}
    for role, names in _ROLE_NAMES:
        for name, is_glob in names:
            if not is_glob:
                if name in files:
                    roles[role] = files[name]
                    break
            else:
                matches = sorted(n for n in files if fnmatch.fnmatchcase(n, name))
                if matches:
                    roles[role] = files[matches[0]]
                    break
    return TrialArtifacts(root, trial_dir, layout, roles, problems,
                          stats={p: stats[p] for p in roles.values() if p in stats})


def files_fingerprint(paths: Iterable[str], extra: str = "",
                      known: dict[str, tuple[int, int]] | None = None) -> str:
    """Names, sizes and mtimes of files (plus `extra`): a change to any of them changes the hash.
    `known`: sizes and mtimes the walk already read (the same hash, one stat fewer per file)."""
    h = hashlib.blake2b(extra.encode(), digest_size=16)
    for path in sorted(paths):
        seen = known.get(path) if known else None
        if seen is None:
            try:
                st = os.stat(path)
                seen = (st.st_size, st.st_mtime_ns)
            except OSError as exc:
                h.update(f"{path}\0error {exc.errno}\n".encode("utf-8", "surrogateescape"))
                continue
        h.update(f"{path}\0{seen[0]}\0{seen[1]}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def fingerprint(trial: TrialArtifacts) -> str:
    """Every artifact of the trial (never the ingest options): a change to any re-reads the trial."""
    return files_fingerprint(trial.files.values(), known=trial.stats)


def discover(roots: list[str]) -> Discovery:
    found = Discovery()
    for root in roots:
        root_abs = os.path.abspath(root)
        found.trials_per_root[root_abs] = 0
        if not os.path.isdir(root_abs):
            found.errors.append((root_abs, root_abs, "not a directory", "the root was skipped"))
            continue
        root_real = os.path.realpath(root_abs)
        seen: set[tuple[int, int]] = set()
        stack: list[tuple[str, tuple[int, int] | None]] = [(root_abs, None)]
        while stack:
            current, dir_id = stack.pop()
            if dir_id is None:  # the root (its subfolders' identities come from their parent's listing)
                try:
                    st = os.stat(current)
                except OSError as exc:
                    found.errors.append((root_abs, current, exc.strerror or str(exc), "the directory was skipped"))
                    continue
                dir_id = (st.st_dev, st.st_ino)
            if dir_id in seen:
                found.errors.append((root_abs, current, "symlink loop (directory already visited)",
                                     "the directory was not walked again"))
                continue
            seen.add(dir_id)
            try:
                listing = _list(current, root_real)
            except OSError as exc:
                found.errors.append((root_abs, current, exc.strerror or str(exc), "the directory was skipped"))
                continue
            names = listing.files
            layout = "noodle2" if SUMMARY_FILE in names else "generic" if names.keys() & set(EXIT_FILES) else None
            if layout:
                found.trials.append(_trial(root_abs, current, layout, listing, root_real))
                found.trials_per_root[root_abs] += 1
                continue
            found.errors.extend((root_abs, p, e, h) for p, e, h in listing.problems)
            for name, path in sorted(names.items()):
                if name in STUDY_FILES:
                    found.study_files.append(StudyFile(root_abs, name.rsplit(".", 1)[0], path))
                elif name.startswith("stage_") and name.endswith("_telemetry.json"):
                    found.study_files.append(StudyFile(root_abs, "stage_telemetry", path))
                elif name == "stage_summary.json":
                    found.study_files.append(StudyFile(root_abs, "stage_summary", path))
                elif name.endswith((".yaml", ".yml")):
                    found.study_files.append(StudyFile(root_abs, "yaml", path))
            stack.extend((d, listing.dir_ids.get(d)) for d in sorted(listing.dirs, reverse=True))
    found.trials.sort(key=lambda t: t.trial_dir)
    return found


def study_dir_of(trial: TrialArtifacts) -> str:
    """A Noodle 2 trial lives in `<study report dir>/<case>/stage_<s>/trial_<t>`."""
    return str(Path(trial.trial_dir).parents[2])
