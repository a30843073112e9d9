"""The only module that imports duckdb: open the store, keep its schema, read and write frames."""

from __future__ import annotations

import os
import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import duckdb
import polars as pl

from .errors import QueryError, StoreLockedError, StoreSchemaError
from .resources import resource_dir

SCHEMA_VERSION = "1"
DEFAULT_DB = "analyzer.duckdb"
DEFAULT_LOCK_TIMEOUT_SECONDS = 30.0
LOG_WRITE_MEMORY_LIMIT = "200MB"  # DuckDB's buffer cache while an ingest writes whole logs


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


class Store:
    """An open DuckDB store. Use `open_store`; close it (or use it as a context manager)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: str, read_only: bool) -> None:
        self.con = con
        self.path = path
        self.read_only = read_only

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def frame(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None,
              *, origin: str = "query") -> pl.DataFrame:
        """Run SQL and return a Polars frame; DuckDB errors name where the SQL came from."""
        try:
            return self.con.sql(sql, params=params).pl() if params else self.con.sql(sql).pl()
        except duckdb.Error as exc:
            raise QueryError(f"{origin}: {exc}") from exc

    def frame_file(self, name: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
        return self.frame(sql_text(name), params, origin=f"sql/{name}.sql")

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """The first column of the first row (the result is drained, freeing the connection)."""
        rows = self.con.execute(sql, params).fetchall() if params else self.con.execute(sql).fetchall()
        return rows[0][0] if rows else None

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None,
                *, origin: str = "statement") -> None:
        try:
            self.con.execute(sql, params) if params is not None else self.con.execute(sql)
        except duckdb.Error as exc:
            raise QueryError(f"{origin}: {exc}") from exc

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
            raise QueryError(f"writing {table}: {exc}") from exc
        finally:
            self.con.unregister("_incoming")

    def delete_trials(self, tables: Sequence[str], trial_ids: pl.Series) -> None:
        """Delete every row of these trials from these tables."""
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
                           chunks: Iterable[pl.DataFrame] | None, vocabulary: dict[str, Any]) -> None:
        """These trials' stored logs replace what the store had (call inside a transaction); the
        chunks come in a few frames (bounded copies); the vocabulary that produced their
        candidate lines is recorded once."""
        self.cap_log_memory()
        self.delete_trials(("log_streams", "log_chunks"), trial_ids)
        self.insert("log_streams", streams)
        for frame in chunks or ():
            self.insert("log_chunks", frame)
        self.execute(
            "INSERT OR IGNORE INTO log_vocabularies VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP)",
            [vocabulary["vocabulary"], vocabulary["words"], vocabulary["excluded_prefixes"],
             vocabulary["covered_patterns"], vocabulary["rules_version"]], origin="log_vocabularies")

    def cap_log_memory(self) -> None:
        """DuckDB keeps blocks it wrote or read cached up to 80 % of RAM by default; while whole
        logs stream through, cached blocks are worth less than a flat RSS (they are on disk)."""
        if not getattr(self, "_log_memory_capped", False):
            self.execute(f"SET memory_limit = '{LOG_WRITE_MEMORY_LIMIT}'")
            self._log_memory_capped = True

    def iter_log_chunks(self, targets: pl.DataFrame) -> Iterator[tuple[str, str, int, int, bytes]]:
        """trial_id, stream, first_line, n_lines, zstd data of the chunks of these (trial_id,
        stream) pairs, in the targets' order then chunk order. One indexed lookup per trial:
        a scan of log_chunks would materialize the blobs of every row it passes (RSS 138 ->
        520 MiB for 180 chunks of the dense benchmark), the index scan only the trial's."""
        cur = self.con.cursor()
        try:
            wanted: dict[str, list[str]] = {}
            for trial_id, stream in targets.select("trial_id", "stream").iter_rows():
                wanted.setdefault(trial_id, []).append(stream)
            for trial_id, streams in wanted.items():
                rows = cur.execute("SELECT stream, first_line, n_lines, data FROM log_chunks "
                                   "WHERE trial_id = ? ORDER BY chunk_no", [trial_id]).fetchall()
                for stream in streams:
                    yield from ((trial_id, s, f, n, d) for s, f, n, d in rows if s == stream)
        finally:
            cur.close()


def _connect(path: str, read_only: bool, lock_timeout: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + lock_timeout
    while True:
        try:
            return duckdb.connect(path, read_only=read_only)
        except duckdb.IOException as exc:
            message = str(exc)
            if "lock" not in message.lower():
                raise StoreSchemaError(f"{path}: cannot open the store: {message}") from exc
            if time.monotonic() >= deadline:
                raise StoreLockedError(
                    f"{path}: the store is locked by {_lock_holder(message)}; waited "
                    f"{lock_timeout:g}s. Let the other ingest/classify finish, or raise "
                    f"--lock-timeout / ANALYZER_LOCK_TIMEOUT."
                ) from exc
            time.sleep(0.2)
        except duckdb.Error as exc:
            raise StoreSchemaError(f"{path}: not a DuckDB store: {exc}") from exc


def lock_timeout_seconds(explicit: float | None = None) -> float:
    if explicit is not None:
        return explicit
    return float(os.environ.get("ANALYZER_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT_SECONDS))


def open_store(path: str | None = None, *, read_only: bool = False,
               lock_timeout: float | None = None) -> Store:
    """Open (and for writers create or migrate) the store at `path`."""
    path = path or default_db_path()
    if read_only and not Path(path).exists():
        raise StoreSchemaError(f"{path}: no store here; run `analyzer ingest ROOT --db {path}` first")
    con = _connect(path, read_only, lock_timeout_seconds(lock_timeout))
    store = Store(con, path, read_only)
    try:
        _check_version(store)
        if not read_only:
            for name in schema_files():
                store.execute(sql_text(name), origin=f"sql/{name}.sql")
            store.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])
    except BaseException:
        con.close()
        raise
    return store


def _check_version(store: Store) -> None:
    has_meta = store.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'")
    if not has_meta:
        tables = store.scalar("SELECT count(*) FROM information_schema.tables")
        if tables:
            raise StoreSchemaError(
                f"{store.path}: this DuckDB file is not an analyzer store (it has tables but no "
                f"`meta`); pass another --db"
            )
        if store.read_only:
            raise StoreSchemaError(f"{store.path}: empty store; run `analyzer ingest` first")
        return
    version = store.scalar("SELECT max(value) FROM meta WHERE key = 'schema_version'")
    if version is not None and int(version) > int(SCHEMA_VERSION):
        raise StoreSchemaError(
            f"{store.path}: written by a newer analyzer (schema {version}, this one reads "
            f"{SCHEMA_VERSION}); upgrade analyzer (pip install -U analyzer)"
        )

