"""A re-ingest of an unchanged corpus, answered before Polars and the ingest modules are imported.

A nightly job re-ingests the same roots every night; when nothing changed, the work is the walk
(discover + fingerprints) and one look in the store. A full ingest records, per set of roots, a
digest of everything its result depended on: every trial's fingerprint, the study-level files'
names/sizes/mtimes, the options, the analyzer and schema versions. When a later ingest of the
same roots computes the same digest, it reports the recorded result instead of running the
pipeline (which would skip every trial anyway, but only after importing Polars and re-reading
the study files).

The record is kept only when replaying it is exact: no problem met at the roots, in the study
configs or in the study files (those are met, and warned about, on every run). Any full ingest into the store
deletes every record before it writes, so a record never outlives a change to the store.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .discover import Discovery, discover, files_fingerprint, fingerprint
from .safe_io import display

if TYPE_CHECKING:
    from ..store import Store

KEY_PREFIX = "ingest_unchanged:"


@dataclass
class Walk:
    """What the walk found, and the digest of the run it would be (None: never replayable)."""
    found: Discovery
    digest: str | None
    key: str


@dataclass
class Replay:
    """What an ingest of these roots finds when nothing changed since the last full one: every
    trial unchanged, no study re-read (so no crashed-before-dir trial is new), no problem met."""
    trials_found: int = 0
    errors_standing: int = 0
    studies: list[str] = field(default_factory=list)
    trials_per_root: dict[str, int] = field(default_factory=dict)


def roots_key(roots: list[str]) -> str:
    names = "\0".join(sorted({display(os.path.abspath(r)) for r in roots}))
    return KEY_PREFIX + hashlib.blake2b(names.encode(), digest_size=16).hexdigest()


def walk(roots: list[str], study: str | None, config: str | None, default_memory_limit: str | None) -> Walk:
    """Discover and fingerprint every trial under `roots`; digest the run."""
    found = discover(roots)
    for art in found.trials:
        art.fingerprint = fingerprint(art)
    key = roots_key(roots)
    if found.errors:  # met (and warned about) again on every run: not replayable
        return Walk(found, None, key)
    from .. import __version__
    from ..store import SCHEMA_VERSION  # (after the walk: RecordLookup's thread imports DuckDB meanwhile)
    h = hashlib.blake2b(digest_size=20)
    options = [__version__, str(SCHEMA_VERSION), study or "", default_memory_limit or "",
               config or "", files_fingerprint([config]) if config else ""]
    h.update(json.dumps(options).encode())
    h.update(files_fingerprint([sf.path for sf in found.study_files],
                               extra="\0".join(sorted(f"{sf.kind}:{sf.path}" for sf in found.study_files))).encode())
    for art in found.trials:
        h.update(f"{display(art.trial_dir)}\0{art.fingerprint}\n".encode("utf-8", "surrogateescape"))
    return Walk(found, h.hexdigest(), key)


class RecordLookup:
    """The store's record for a set of roots, read on a thread while the main thread walks them
    (importing DuckDB and the read-only open, about 60-70 ms, are mostly DuckDB's own work and
    overlap the walk's). `replay(run)` waits for it: the recorded result, if it is this walk's.

    The thread never waits for another process's lock: a locked store is read again after the
    walk, on the caller's thread, with the lock timeout (where Ctrl-C stops the wait)."""

    def __init__(self, db: str | None, roots: list[str], lock_timeout: float | None) -> None:
        self.key = roots_key(roots)
        self.db = db or ""
        self.lock_timeout = 0.0
        self._value: object = None
        self._locked = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._read, args=(db, lock_timeout), name="unchanged-record")
        self._thread.start()

    def _read(self, db: str | None, lock_timeout: float | None) -> None:
        try:
            from ..errors import StoreLockedError
            from ..store import default_db_path, lock_timeout_seconds

            self.db = db or default_db_path()
            self.lock_timeout = lock_timeout_seconds(lock_timeout)  # (a bad ANALYZER_LOCK_TIMEOUT: an error)
            try:
                self._value = stored_record(self.db, self.key, 0.0)
            except StoreLockedError:
                self._locked = True
        except BaseException as exc:  # re-raised on the caller's thread by wait
            self._error = exc

    def join(self) -> None:
        self._thread.join()

    def wait(self) -> object:
        self.join()
        if self._error is not None:
            raise self._error
        if self._locked:
            return stored_record(self.db, self.key, self.lock_timeout)
        return self._value

    def replay(self, run: Walk) -> Replay | None:
        return replay_of(self.wait(), run)


def stored_record(db: str, key: str, lock_timeout: float | None) -> object:
    """The value `record` stored under `key` (None: no store, not a readable store, or no record)."""
    from ..errors import StoreSchemaError
    from ..store import open_store

    if not os.path.isfile(db):
        return None
    try:
        with open_store(db, read_only=True, lock_timeout=lock_timeout, engine_only=True) as store:
            return store.scalar("SELECT value FROM meta WHERE key = ?", [key])
    except StoreSchemaError:  # empty, older or not a store: the full pass creates, migrates or says why
        return None


def replay_of(value: object, run: Walk) -> Replay | None:
    """The recorded result if `value` is the record of this very walk's digest."""
    if run.digest is None:
        return None
    try:
        data: Any = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("digest") != run.digest or not isinstance(data.get("result"), dict):
        return None  # not this corpus, or not a record this version wrote: the full pass decides
    try:
        replay = Replay(**data["result"])
    except TypeError:
        return None
    good = (isinstance(replay.trials_found, int) and isinstance(replay.errors_standing, int)
            and isinstance(replay.studies, list) and isinstance(replay.trials_per_root, dict))
    return replay if good else None


def forget_all(store: Store) -> None:
    """Before a full ingest writes: no recorded result survives a change to the store."""
    store.execute("DELETE FROM meta WHERE starts_with(key, ?)", [KEY_PREFIX])


def record(store: Store, run: Walk, result: Replay) -> None:
    """After a full ingest whose replay would be exact."""
    if run.digest is None:
        return
    value = json.dumps({"digest": run.digest, "result": result.__dict__})
    store.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [run.key, value])
