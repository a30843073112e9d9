"""The only module that imports duckdb: open the store, keep its schema, read and write frames."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import _duckdb as duckdb
    import polars as pl
else:
    try:  # DuckDB's engine alone; python_api() adds the duckdb package's Python side
        import _duckdb as duckdb
    except ImportError:  # a DuckDB laid out otherwise: the package, whole
        import duckdb

from .errors import QueryError, StoreLockedError, StoreSchemaError
from .resources import resource_dir

SCHEMA_VERSION = "3"
LOG_CHUNK_TABLE_BYTES = 64 << 20   # compressed log bytes per chunk table (see Store._current_chunk_table)
CHUNK_TABLE_NAME = re.compile(r"log_chunks(?:_([0-9]{1,6}))?")
DEFAULT_DB = "analyzer.duckdb"
DEFAULT_LOCK_TIMEOUT_SECONDS = 30.0
# New stores are written in the oldest DuckDB storage format that serves every view, so that
# DuckDB 1.x clients (the duckdb CLI, DBeaver, R, ...) open them too. Existing files keep the
# format they were created with (DuckDB never rewrites it).
STORAGE_VERSION = "v1.1.0"
# The store never needs an extension: none is installed or loaded behind the user's back.
BASE_CONFIG: dict[str, str | bool] = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
DUCKDB_MAGIC = b"DUCK"  # bytes 8..12 of every DuckDB database file

# Ordered schema migrations: (schema version it produces, SQL file under sql/migrations/).
# A later schema change adds one step here and bumps SCHEMA_VERSION; `open_store` (for writing)
# runs the steps a store is missing, each in its own transaction, before the idempotent schema
# files. Version 1 is the first schema, so there is no step yet.
MIGRATIONS: list[tuple[int, str]] = [(2, "0002_views_2026_11"), (3, "0003_timeout_marks")]
LOG_WRITE_MEMORY_LIMIT = "100MB"  # DuckDB's buffer cache while an ingest writes whole logs
LOG_READ_EVICT_BYTES = 8 << 20  # compressed log chunks read between evictions of DuckDB's cache
EVICT_MEMORY_LIMIT = "1MB"  # the momentary limit that evicts it (see _evict_cached_blocks)


def default_db_path() -> str:
    return os.environ.get("ANALYZER_DB", DEFAULT_DB)


def quote_identifier(name: str) -> str:
    """The one place a dynamic identifier enters SQL."""
    return '"' + name.replace('"', '""') + '"'


def sql_text(name: str) -> str:
    """The text of `sql/<name>.sql` (or `sql/queries/<name>.sql` for `queries/<name>`)."""
    return (resource_dir("sql") / f"{name}.sql").read_text(encoding="utf-8")


def schema_files() -> list[str]:
    """`schema` first, then each `schema_<topic>.sql` in name order (a topic's own tables and views)."""
    topics = sorted(p.stem for p in resource_dir("sql").glob("schema_*.sql"))
    return ["schema", *topics]


def _lock_holder(message: str) -> str:
    m = re.search(r"Conflicting lock is held in (.+?) \(PID (\d+)\)", message)
    return f"process {m.group(2)} ({m.group(1)})" if m else "another process"


@dataclass
class QueryResult:
    """Rows as DuckDB's Python client converts them (never fails on intervals, nested values,
    infinities or huge numbers, unlike a Polars frame), with column names and SQL types."""

    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]


def python_api() -> None:
    """Load the duckdb package's Python side: it adds `.sql()`, `.pl()` and scans of Polars and
    Arrow frames to the engine's classes. Importing it costs about 0.1 s (its relation API,
    importlib.metadata), a fifth of a no-op re-ingest, which reads one row of `meta` with plain
    `execute` and needs none of it (`open_store(engine_only=True)`)."""
    import duckdb  # noqa: F401


class Store:
    """An open DuckDB store. Use `open_store`; close it (or use it as a context manager)."""

    sandboxed = False

    def __init__(self, con: duckdb.DuckDBPyConnection, path: str, read_only: bool,
                 engine_only: bool = False) -> None:
        if not engine_only:
            python_api()
        self.con = con
        self.path = path
        self.read_only = read_only

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def cursor(self) -> Store:
        """A second connection to the same database, for queries on another thread (its own
        temp tables and registrations; settings such as memory_limit are shared)."""
        return Store(self.con.cursor(), self.path, self.read_only)

    def frame(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None,
              *, origin: str = "query") -> pl.DataFrame:
        """Run SQL and return a Polars frame; DuckDB errors name where the SQL came from."""
        try:
            rel = self.con.sql(sql, params=params) if params else self.con.sql(sql)
            frame: pl.DataFrame = rel.pl()
            return frame
        except duckdb.Error as exc:
            raise self._error(origin, exc) from exc

    def _error(self, origin: str, exc: duckdb.Error) -> QueryError | StoreSchemaError:
        """A store-file problem (exit 4) or a problem of this SQL (exit 1)."""
        found = _store_error(self.path, exc)
        if "corrupt or truncated" in str(found):
            return found
        return QueryError(f"{origin}: {exc}")

    def check_read_only_sql(self, sql: str) -> None:
        """Refuse any statement that is not a pure read (the `query` sandbox's last line)."""
        try:
            statements = duckdb.extract_statements(sql)
        except duckdb.Error as exc:
            raise QueryError(f"query: {exc}") from exc
        if not statements:
            raise QueryError("query: no SQL statement given")
        for statement in statements:
            kind = statement.type.name
            text = statement.query.strip()
            if kind == "EXPLAIN":
                inner = re.sub(r"^\s*explain(\s+analyze)?\s*(\([^)]*\))?", "", text, flags=re.I)
                self.check_read_only_sql(inner)
                continue
            if kind not in READ_STATEMENTS:
                first = text.split(None, 1)[0].upper() if text else kind
                if first in READ_STATEMENTS:  # `PRAGMA threads=1` is a SET in disguise
                    first = f"{first} ... (a {kind} statement)"
                raise QueryError(
                    f"query is read-only: {first} is not allowed; only SELECT, EXPLAIN, PRAGMA and "
                    f"CALL run. To write files, use `analyzer export` or open a copy of the store "
                    f"in duckdb")

    def result(self, sql: str, params: dict[str, Any] | None = None,
               *, origin: str = "query") -> QueryResult:
        """Run SQL and return its rows as Python values (for `analyzer query` output)."""
        if self.sandboxed:
            self.check_read_only_sql(sql)
        try:
            rel = self.con.sql(sql, params=params) if params else self.con.sql(sql)
            if rel is None:
                return QueryResult([], [], [])
            types = [str(t) for t in rel.types]
            columns = list(rel.columns)
            if "INTERVAL" in types and len(set(columns)) == len(columns):
                # DuckDB's Python client turns `1 month` into 30 days; its own text is exact
                rel = rel.project(", ".join(
                    f"CAST({quote_identifier(c)} AS VARCHAR) AS {quote_identifier(c)}"
                    if t == "INTERVAL" else quote_identifier(c) for c, t in zip(columns, types)))
            return QueryResult(columns, types, rel.fetchall())
        except duckdb.Error as exc:
            raise self._error(origin, exc) from exc

    def frame_file(self, name: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
        return self.frame(sql_text(name), params, origin=f"sql/{name}.sql")

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """The first column of the first row (the result is drained, freeing the connection)."""
        try:
            rows = self.con.execute(sql, params).fetchall() if params else self.con.execute(sql).fetchall()
        except duckdb.Error as exc:
            raise self._error("query", exc) from exc
        return rows[0][0] if rows else None

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None,
                *, origin: str = "statement") -> None:
        try:
            self.con.execute(sql, params) if params is not None else self.con.execute(sql)
        except duckdb.Error as exc:
            raise self._error(origin, exc) from exc

    def insert(self, table: str, frame: pl.DataFrame) -> None:
        """Append a frame to a table by column name (columnar, one statement)."""
        if frame.is_empty():
            return
        cols = ", ".join(quote_identifier(c) for c in frame.columns)
        self.con.register("_incoming", frame)
        try:
            self.con.execute(
                f"INSERT INTO {quote_identifier(table)} ({cols}) SELECT {cols} FROM _incoming"
            )
        except duckdb.Error as exc:
            raise self._error(f"writing {table}", exc) from exc
        finally:
            self.con.unregister("_incoming")

    def delete_trials(self, tables: Sequence[str], trial_ids: pl.Series) -> None:
        """Delete every row of these trials from these tables."""
        import polars as pl

        if trial_ids.is_empty():
            return
        self.con.register("_ids", pl.DataFrame({"trial_id": trial_ids}))
        try:
            for table in tables:
                self.con.execute(
                    f"DELETE FROM {quote_identifier(table)} WHERE trial_id IN (SELECT trial_id FROM _ids)"
                )
        finally:
            self.con.unregister("_ids")

    @contextmanager
    def registered(self, name: str, frame: pl.DataFrame) -> Iterator[None]:
        """Make a frame visible to SQL as `name` for the duration (works on read-only stores)."""
        self.con.register(name, frame)
        try:
            yield
        finally:
            self.con.unregister(name)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: an interrupted batch leaves no half-written trial."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    # ------------------------------------------------------------ whole logs (sql/schema_logs.sql)

    def replace_trial_logs(self, trial_ids: pl.Series, streams: pl.DataFrame,
                           chunks: Iterable[pl.DataFrame] | None, vocabularies: list[dict[str, Any]],
                           fresh: bool = False) -> None:
        """These trials' stored logs replace what the store had (call inside a transaction); the
        chunks come in a few frames (bounded copies) and go to the current chunk table, which
        log_streams.chunk_table records; the vocabulary that produced their candidate lines is
        recorded once. `fresh`: none of these trials is stored yet (see replace_trials)."""
        import polars as pl

        self.cap_log_memory()
        tables = self.log_chunk_tables()
        # from every chunk table, not only those log_streams names: a store whose log_streams
        # lost or changed a name must not keep the old chunks to be read with the new ones
        if not fresh:
            self.delete_trials(["log_streams", *tables], trial_ids)
        current = self._current_chunk_table(tables, int(streams["compressed_bytes"].sum() or 0))
        self.insert("log_streams", streams.with_columns(pl.lit(current).alias("chunk_table")))
        for frame in chunks or ():
            self.insert(current, frame)
        for vocabulary in vocabularies:
            self.execute(
                "INSERT OR IGNORE INTO log_vocabularies (vocabulary, words, excluded_prefixes, "
                "covered_patterns, rules_version, recorded_at, success_only) "
                "VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP, ?)",
                [vocabulary["vocabulary"], vocabulary["words"], vocabulary["excluded_prefixes"],
                 vocabulary["covered_patterns"], vocabulary["rules_version"],
                 bool(vocabulary.get("success_only"))], origin="log_vocabularies")

    def log_chunk_tables(self) -> list[str]:
        """The tables holding whole-log chunks, oldest first: `log_chunks`, `log_chunks_1`, ..."""
        names = [n for (n,) in self.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND starts_with(table_name, 'log_chunks')").fetchall()]
        found = {int(m.group(1) or 0): n for n in names if (m := CHUNK_TABLE_NAME.fullmatch(n))}
        return [found[k] for k in sorted(found)]

    def chunk_tables_of(self, trial_ids: list[str]) -> dict[str, list[str]]:
        """trial_id -> the chunk tables log_streams says hold its chunks (existing tables only:
        a name in log_streams is data, never SQL), for the trials that have stored logs."""
        import polars as pl

        existing = set(self.log_chunk_tables())
        ids = pl.DataFrame({"trial_id": trial_ids}, schema={"trial_id": pl.String})
        with self.registered("_chunk_trials", ids):
            rows = self.con.execute(
                f"SELECT DISTINCT trial_id, {self._chunk_table_column()} FROM log_streams "
                "WHERE trial_id IN (SELECT trial_id FROM _chunk_trials) ORDER BY ALL").fetchall()
        held: dict[str, list[str]] = {}
        for trial_id, table in rows:
            if table in existing:
                held.setdefault(trial_id, []).append(table)
        return held

    def _current_chunk_table(self, tables: list[str], incoming: int = 0) -> str:
        """The chunk table new chunks go to; a new one once the last holds LOG_CHUNK_TABLE_BYTES.
        DuckDB rewrites a table's last row group whole at every checkpoint after an append (and
        starts a new one only after 122,880 rows or a reopen), so chunks appended batch after
        batch to one table cost a rewrite of all of them per batch: 4 GB of dense logs took 44 s
        of commits, growing per batch, and RSS grew to 610 MiB. Tables of bounded size bound it."""
        current = tables[-1]
        fill = int(self.scalar(f"SELECT coalesce(sum(compressed_bytes), 0) FROM log_streams "
                               f"WHERE {self._chunk_table_column()} = ?", [current]) or 0)
        # `incoming` bytes are about to go in: a table never passes the bound (but by one
        # transaction's own bytes, when it starts empty). The whole table is rewritten at a
        # checkpoint, within DuckDB's memory limit: one grown to 128 MB under the ingest's
        # 100 MB failed with "autocheckpoint failed", a FATAL error.
        if fill == 0 or fill + incoming <= LOG_CHUNK_TABLE_BYTES:
            return current
        m = CHUNK_TABLE_NAME.fullmatch(current)
        new = f"log_chunks_{int(m.group(1) or 0) + 1 if m else len(tables)}"
        self.run_file("logs_chunk_table", names={"log_chunks_new": new})
        return new

    def _chunk_table_column(self) -> str:
        """log_streams.chunk_table as SQL (stores written before it existed: all in log_chunks)."""
        if getattr(self, "_has_chunk_table", None) is None:
            self._has_chunk_table = bool(self.scalar(
                "SELECT count(*) FROM duckdb_columns() WHERE database_name = current_database() "
                "AND table_name = 'log_streams' AND column_name = 'chunk_table'"))
        return "coalesce(chunk_table, 'log_chunks')" if self._has_chunk_table else "'log_chunks'"

    @contextmanager
    def memory_limited(self, limit: str, then: str | None = None) -> Iterator[None]:
        """DuckDB's memory limit (a database-wide setting) at `limit` for the duration, then at
        `then` (None: DuckDB's default). Lowering it evicts the cached blocks beyond it. Set by
        value: DuckDB reports a limit rounded, so a value read back and set again would drift."""
        self.execute(f"SET memory_limit = '{limit}'")
        try:
            yield
        finally:
            self.execute(f"SET memory_limit = '{then}'" if then else "RESET memory_limit")

    def cap_log_memory(self) -> None:
        """DuckDB keeps blocks it wrote or read cached up to 80 % of RAM by default; while whole
        logs stream through, cached blocks are worth less than a flat RSS (they are on disk)."""
        if not getattr(self, "_log_memory_capped", False):
            self.execute(f"SET memory_limit = '{LOG_WRITE_MEMORY_LIMIT}'")
            self._log_memory_capped = True

    def iter_log_chunks(self, targets: pl.DataFrame) -> Iterator[tuple[str, str, int, int, bytes]]:
        """trial_id, stream, first_line, n_lines, zstd data of the chunks of these (trial_id,
        stream) pairs, in the targets' order then chunk order. One indexed lookup per trial, in
        the chunk table log_streams names: a scan of log_chunks would materialize the blobs of
        every row it passes (RSS 138 -> 520 MiB for 180 chunks of the dense benchmark), the
        index scan only the trial's. DuckDB's cache of the blocks read is emptied as it goes
        (_evict_cached_blocks), with the memory limit of cap_log_memory."""
        self.cap_log_memory()
        cur = self.con.cursor()
        read = 0
        try:
            wanted: dict[str, list[str]] = {}
            for trial_id, stream in targets.select("trial_id", "stream").iter_rows():
                wanted.setdefault(trial_id, []).append(stream)
            held = self.chunk_tables_of(list(wanted))
            for trial_id, streams in wanted.items():
                rows = [row for table in held.get(trial_id, []) for row in cur.execute(
                    f"SELECT stream, first_line, n_lines, data FROM {quote_identifier(table)} "
                    "WHERE trial_id = ? ORDER BY chunk_no", [trial_id]).fetchall()]
                read += sum(len(row[3]) for row in rows)
                if read >= LOG_READ_EVICT_BYTES:
                    _evict_cached_blocks(cur)
                    read = 0
                for stream in streams:
                    yield from ((trial_id, s, f, n, d) for s, f, n, d in rows if s == stream)
        finally:
            if read:
                _evict_cached_blocks(cur)
            cur.close()


    # ---- ingest writes (analyzer/ingest): SQL in sql/ingest_*.sql -------------------------

    def run_file(self, name: str, params: dict[str, Any] | None = None,
                 names: dict[str, str] | None = None) -> None:
        """Run every statement of `sql/<name>.sql` (statements end with `;` at a line end).
        `names`: identifiers the file spells as placeholders, replaced with plain identifiers
        (values go in `params`)."""
        text = sql_text(name)
        for placeholder, identifier in (names or {}).items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", identifier):
                raise ValueError(f"not a plain identifier: {identifier!r}")
            text = text.replace(placeholder, identifier)
        for statement in (s.strip() for s in text.split(";\n")):
            body = "\n".join(ln for ln in statement.splitlines() if not ln.lstrip().startswith("--"))
            if body.strip():
                used = {k: v for k, v in (params or {}).items() if f"${k}" in body}
                self.execute(body.rstrip(";"), used or None, origin=f"sql/{name}.sql")

    def known_trials(self) -> pl.DataFrame:
        """trial_dir, trial_id, fingerprint, crashed_before_dir of every stored trial."""
        return self.frame_file("ingest_known_trials")

    def replace_trials(self, tables: Sequence[str], trials: pl.DataFrame,
                       rows: dict[str, pl.DataFrame], also: Callable[[], None] | None = None,
                       fresh: bool = False) -> None:
        """All or nothing: delete these trials from `tables`, insert the new trial rows and theirs
        (and run `also`, more writes of the same trials, in the same transaction). `fresh`: none of
        these trials is stored yet, so there is nothing to delete (each DELETE scans its whole
        table, and the tables grow with the history: 4 GB of dense logs ingested into an empty
        store spent 1.15 CPU s and 4 s of the writer's time deleting nothing)."""
        with self.transaction():
            if not fresh:
                self.delete_trials(tables, trials["trial_id"])
            self.insert("trial_facts", trials)
            for table, frame in rows.items():
                self.insert(table, frame)
            if also is not None:
                also()

    def replace_study(self, study: str, root: str, facts: pl.DataFrame, events: pl.DataFrame,
                      errors: pl.DataFrame, crashed: pl.DataFrame | None) -> None:
        """One study's facts, events and errors (and its crashed-before-dir trials), whole."""
        with self.transaction():
            self.run_file("ingest_replace_study", {"study": study, "root": root})
            self.insert("study_facts", facts)
            self.insert("study_events", events)
            if crashed is not None:
                self.execute("DELETE FROM trial_facts WHERE study = ? AND root = ? AND crashed_before_dir",
                             [study, root])
                self.insert("trial_facts", crashed)
            self.insert("ingest_error_rows", errors)

    def replace_root_errors(self, roots: list[str], errors: pl.DataFrame) -> None:
        import polars as pl

        with self.transaction(), self.registered("_new_errors", errors), \
                self.registered("_roots", pl.DataFrame({"root": roots}, schema={"root": pl.String})):
            self.run_file("ingest_root_errors")

    def set_default_memory_limit(self, trial_dirs: list[str], limit_mb: float | None) -> None:
        import polars as pl

        found = pl.DataFrame({"trial_dir": trial_dirs}, schema={"trial_dir": pl.String})
        with self.transaction(), self.registered("_found_trials", found):
            self.run_file("ingest_set_default_limit", {"limit_mb": limit_mb})

    def add_trial_only_studies(self) -> None:
        self.run_file("ingest_trial_only_studies")

    def count_ingest_errors(self, trial_ids: list[str], studies: list[str], roots: list[str]) -> int:
        import polars as pl

        frames = {"_found_trials": pl.DataFrame({"trial_id": trial_ids}, schema={"trial_id": pl.String}),
                  "_found_studies": pl.DataFrame({"study": studies}, schema={"study": pl.String}),
                  "_found_roots": pl.DataFrame({"root": roots}, schema={"root": pl.String})}
        with self.registered("_found_trials", frames["_found_trials"]), \
                self.registered("_found_studies", frames["_found_studies"]), \
                self.registered("_found_roots", frames["_found_roots"]):
            return int(self.frame_file("ingest_count_errors").item())


def _evict_cached_blocks(con: duckdb.DuckDBPyConnection) -> bool:
    """Drop the blocks DuckDB keeps cached after a read, and give their memory back. Whole-log
    chunks are read once, but each blob read caches its blocks and those of its row's other
    columns (about 3x the compressed bytes: 60 MiB for 19 MiB of chunks) until the memory limit
    is reached. Asking for a tiny limit evicts every unpinned block (DuckDB refuses the limit
    itself when more is in use, e.g. an open write transaction's own rows: nothing is lost);
    setting the limit of cap_log_memory back (exact: current_setting would give it rounded)
    returns the freed memory to the OS. True: every cached block went."""
    try:
        con.execute(f"SET memory_limit = '{EVICT_MEMORY_LIMIT}'")
        return True
    except duckdb.OutOfMemoryException:
        return False  # evicted what could be
    finally:
        con.execute(f"SET memory_limit = '{LOG_WRITE_MEMORY_LIMIT}'")


def _lock_pid(message: str) -> str:
    m = re.search(r"\(PID (\d+)\)", message)
    return m.group(1) if m else "?"


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _connect(path: str, read_only: bool, lock_timeout: float,
             config: dict[str, Any]) -> duckdb.DuckDBPyConnection:
    """Connect, waiting up to `lock_timeout` for another process's lock (said once on stderr)."""
    deadline = time.monotonic() + lock_timeout
    said = False
    while True:
        try:
            return duckdb.connect(path, read_only=read_only, config=config)
        except duckdb.IOException as exc:
            message = str(exc)
            if "lock" not in message.lower():
                raise _store_error(path, exc) from exc
            if time.monotonic() >= deadline:
                raise StoreLockedError(
                    f"{path}: the store is locked by {_lock_holder(message)}; waited "
                    f"{lock_timeout:g}s. Let the other ingest/classify finish, or raise "
                    f"--lock-timeout / ANALYZER_LOCK_TIMEOUT."
                ) from exc
            if not said:
                _say(f"waiting for the store lock held by PID {_lock_pid(message)} "
                     f"(up to {lock_timeout:g}s; --lock-timeout changes this)")
                said = True
            time.sleep(0.2)
        except duckdb.Error as exc:
            raise _store_error(path, exc) from exc


def _store_error(path: str, exc: BaseException) -> StoreSchemaError:
    """A DuckDB failure while opening or reading the file itself: corrupt, truncated, unreadable."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if re.search(r"checksum|Could not read enough bytes|Corrupt|truncat|INTERNAL Error|"
                 r"Failed to load metadata|invalid block", message, re.I):
        return StoreSchemaError(
            f"{path}: the store file is corrupt or truncated ({message}). Restore it from a backup, "
            f"or move it aside and re-ingest: analyzer ingest ROOT --db {path}")
    return StoreSchemaError(f"{path}: cannot open the store: {message}")


def check_store_file(path: str) -> None:
    """Refuse what is not a DuckDB database before DuckDB touches it (DuckDB would otherwise try
    to load an extension for a SQLite or Parquet file, or treat a directory as a path)."""
    p = Path(path)
    if not p.exists():
        return
    if p.is_dir():
        raise StoreSchemaError(f"{path}: is a directory, not a store; pass a file path to --db")
    if not p.is_file():
        raise StoreSchemaError(f"{path}: not a regular file, not a store; pass a file path to --db")
    try:
        with open(p, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise StoreSchemaError(f"{path}: cannot read the store: {exc.strerror}") from exc
    if len(head) < 16 or head[8:12] != DUCKDB_MAGIC:
        kind = _file_kind(head)
        raise StoreSchemaError(
            f"{path}: not a DuckDB store ({kind}); pass another --db, or move the file aside "
            f"and run `analyzer ingest ROOT --db {path}`")


def _file_kind(head: bytes) -> str:
    if not head:
        return "an empty file"
    for magic, kind in ((b"SQLite format 3", "a SQLite database"), (b"PAR1", "a Parquet file"),
                        (b"PK\x03\x04", "a zip file"), (b"\x1f\x8b", "a gzip file"),
                        (b"{", "JSON text"), (b"[", "JSON text")):
        if head.startswith(magic):
            return kind
    if len(head) < 16:
        return f"only {len(head)} bytes long"
    return "no DuckDB header"


def lock_timeout_seconds(explicit: float | None = None) -> float:
    if explicit is not None:
        return explicit
    raw = os.environ.get("ANALYZER_LOCK_TIMEOUT")
    if raw is None or not raw.strip():
        return DEFAULT_LOCK_TIMEOUT_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (value >= 0 and value != float("inf")):
        from .errors import BadSetting
        raise BadSetting(f"ANALYZER_LOCK_TIMEOUT={raw!r}: not a number of seconds (e.g. 30)")
    return value


# What `analyzer query` may run: statements that only read. Everything else (COPY, EXPORT,
# ATTACH, INSTALL/LOAD, SET, CREATE, ...) is refused before it runs, on top of DuckDB's own
# locks (read-only file, external access off, configuration locked).
READ_STATEMENTS = {"SELECT", "EXPLAIN", "PRAGMA", "CALL"}


def open_store(path: str | None = None, *, read_only: bool = False,
               lock_timeout: float | None = None, sandbox: bool = False,
               allow_files: Sequence[str] = (), create: bool = True, engine_only: bool = False) -> Store:
    """Open (and for writers create or migrate) the store at `path`.

    `sandbox` (for `analyzer query`): read-only, external access disabled except reading under
    `allow_files`, no extensions, configuration locked, and only reading statements run.
    `create=False`: a missing store is an error (commands that only make sense on data).
    `engine_only` (read-only): only `scalar` works, without importing the duckdb package's Python
    side (see python_api)."""
    path = path or default_db_path()
    read_only = read_only or sandbox
    if (read_only or not create) and not Path(path).exists():
        raise StoreSchemaError(f"{path}: no store here; run `analyzer ingest ROOT --db {path}` first")
    check_store_file(path)
    config = dict(BASE_CONFIG)
    if not read_only and not Path(path).exists():
        config["storage_compatibility_version"] = STORAGE_VERSION
    con = _connect(path, read_only, lock_timeout_seconds(lock_timeout), config)
    store = Store(con, path, read_only, engine_only=engine_only and read_only)
    try:
        _check_version(store)
        if not read_only:
            _migrate(store)
            for name in schema_files():
                store.execute(sql_text(name), origin=f"sql/{name}.sql")
            store.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])
        if sandbox:
            _lock_down(con, allow_files)
            store.sandboxed = True
    except duckdb.Error as exc:
        con.close()
        raise _store_error(path, exc) from exc
    except BaseException:
        con.close()
        raise
    return store


def _lock_down(con: duckdb.DuckDBPyConnection, allow_files: Sequence[str]) -> None:
    if allow_files:
        dirs = [os.path.join(os.path.realpath(p), "") if os.path.isdir(p) else os.path.realpath(p)
                for p in allow_files]
        con.execute("SET allowed_directories = ?", [[d for d in dirs if d.endswith(os.sep)]])
        con.execute("SET allowed_paths = ?", [[d for d in dirs if not d.endswith(os.sep)]])
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def stored_schema_version(store: Store) -> int | None:
    version = store.scalar("SELECT max(value) FROM meta WHERE key = 'schema_version'")
    try:
        return int(version) if version is not None else None
    except ValueError:
        raise StoreSchemaError(f"{store.path}: meta.schema_version is {version!r}, not a number; "
                               f"this file was not written by analyzer") from None


def migration_sql(name: str) -> str:
    """The SQL of one migration step, `sql/migrations/<name>.sql`."""
    return sql_text(f"migrations/{name}")


def _migrate(store: Store) -> None:
    """Run the migration steps this store is missing, in order, each all-or-nothing."""
    current = stored_schema_version(store) if _has_meta(store) else None
    if current is None:
        return  # a new store: the schema files create the current schema
    for target, name in MIGRATIONS:
        if target <= current:
            continue
        try:
            with store.transaction():
                store.execute(migration_sql(name), origin=f"sql/migrations/{name}.sql")
                store.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(target)])
        except QueryError as exc:
            raise StoreSchemaError(
                f"{store.path}: migrating the store from schema {current} to {target} failed and was "
                f"rolled back (the store is unchanged): {exc}") from exc
        current = target


def _has_meta(store: Store) -> bool:
    """Whether the file has analyzer's `meta` table. Asked of the table itself: the first catalog
    listing (information_schema) of a connection costs about 20 ms, a tenth of the work of an
    unchanged re-ingest, and a store has `meta` nearly always."""
    try:
        store.con.execute("SELECT 1 FROM meta LIMIT 0").fetchall()
    except duckdb.CatalogException:
        return False
    except duckdb.Error as exc:
        raise store._error("query", exc) from exc
    return True


def _check_version(store: Store) -> None:
    if not _has_meta(store):
        tables = store.scalar("SELECT count(*) FROM information_schema.tables")
        if tables:
            raise StoreSchemaError(
                f"{store.path}: this DuckDB file is not an analyzer store (it has tables but no "
                f"`meta`); pass another --db"
            )
        if store.read_only:
            raise StoreSchemaError(f"{store.path}: empty store; run `analyzer ingest` first")
        return
    version = stored_schema_version(store)
    if version is not None and version > int(SCHEMA_VERSION):
        raise StoreSchemaError(
            f"{store.path}: written by a newer analyzer (schema {version}, this one reads "
            f"{SCHEMA_VERSION}); upgrade analyzer (pip install -U analyzer)"
        )
    if store.read_only and (version or 0) < int(SCHEMA_VERSION):
        raise StoreSchemaError(
            f"{store.path}: written by an older analyzer (schema {version or 0}, this one reads "
            f"{SCHEMA_VERSION}); migrate it in place with a writing command, e.g. "
            f"`analyzer classify --db {store.path}` (keep a copy first if other tools use it)"
        )


