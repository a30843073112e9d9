"""`--engine ray`: the batches of an ingest read, parsed and scanned by Ray tasks on a cluster.

Discovery and fingerprint skipping stay on the driver (pipeline.ingest), and so does the one
writer: this module is only a `BatchReader`. Each batch of trial artifacts becomes one Ray task
that calls the same pure `read_batch` as the local engine and returns its `ReadBatch` with the
tabular parts as Arrow tables (kept lines, compressed log chunks: Ray moves them through its
object store without pickling each row). The driver gets the batches back in batch order, so
trial ids (assigned by `write_batch`) and every view are the same as with `--engine local`.

Why Ray tasks and not Ray Data `map_batches`: a batch here is a list of trial folders cut by
log bytes, and what comes back is one `ReadBatch` (typed records, lines, chunks, per-file
stats) written in one transaction, not rows of one table; tasks keep that unit, give the
results in order with a bounded window, and retry a batch whose worker process died
(`max_retries`), which the driver never sees. Ray core (and its client) is the whole extra (Ray Data would
add pandas and fsspec to the install). Measured on the same batches, Ray Data took about twice
the wall and 1.5-2x the CPU of tasks (benchmarks/RESULTS.md, "Ray").

Ray is imported only when the engine runs: `--engine local` never imports it.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import polars as pl

from ..errors import AnalyzerError, ExitCode
from .discover import TrialArtifacts
from .logs import CHUNK_SCHEMA
from .pipeline import BatchReader, ReadBatch, read_batch
from .progress import Progress

INSTALL_HINT = "pip install 'analyzer[ray]'"
MAX_RETRIES = 3           # a batch whose worker process dies is run again (Ray's system-failure retry)
IN_FLIGHT_PER_CPU = 2     # batches submitted ahead per cluster CPU (bounds the object store's use)
# Failure injection for tests and drills: the task of batch N (0-based) kills its worker process
# on its first attempt (a marker file says whether it has been tried; it must be on storage the
# workers share, a temporary directory of the driver by default).
FAIL_BATCH_ENV = "ANALYZER_RAY_FAIL_BATCH"
FAIL_MARKER_DIR_ENV = "ANALYZER_RAY_FAIL_DIR"


class RayMissing(AnalyzerError):
    """`--engine ray` where Ray is not installed: a usage problem, said in one line."""

    exit_code = ExitCode.USAGE


def ray_missing_message() -> str | None:
    """The one-line problem when Ray cannot be imported here, else None."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return f"--engine ray needs Ray installed next to analyzer: {INSTALL_HINT}"
    return None


@dataclasses.dataclass
class Packed:
    """A ReadBatch on its way from a worker: lines and chunks as Arrow tables (pyarrow.Table;
    typed Any, pyarrow ships no type information), the rest as is."""
    batch: ReadBatch          # with empty lines and no chunks
    lines: Any
    chunks: Any


def pack(data: ReadBatch) -> Packed:
    scan = data.scan
    chunks = None
    if scan.chunks is not None:
        chunks = pl.DataFrame(scan.chunks, schema=CHUNK_SCHEMA, orient="row").to_arrow()
    empty = dataclasses.replace(scan, lines=scan.lines.clear(), chunks=None)
    return Packed(dataclasses.replace(data, scan=empty), scan.lines.to_arrow(), chunks)


def _frame(table: Any, schema: pl.Schema) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.cast(schema)


def unpack(packed: Packed) -> ReadBatch:
    lines = _frame(packed.lines, packed.batch.scan.lines.schema)
    chunks = None
    if packed.chunks is not None:
        chunks = _frame(packed.chunks, pl.Schema(CHUNK_SCHEMA)).rows()
    scan = dataclasses.replace(packed.batch.scan, lines=lines, chunks=chunks)
    return dataclasses.replace(packed.batch, scan=scan)


def read_packed(batch: list[TrialArtifacts], study: str | None, stamp: datetime,
                crash_marker: str | None = None) -> Packed:
    """The task body: `read_batch` on a worker. With `crash_marker`, the first attempt kills its
    own worker process once the batch is read, before anything is returned (as an OOM killer or a
    lost node would), and Ray's retry reads the batch again."""
    packed = pack(read_batch(batch, study, stamp))
    if crash_marker is not None and not os.path.exists(crash_marker):
        with open(crash_marker, "w", encoding="utf-8") as f:
            f.write(f"batch killed on its first attempt by {FAIL_BATCH_ENV}\n")
        os._exit(1)
    return packed


def _fail_plan() -> tuple[int | None, str | None]:
    raw = os.environ.get(FAIL_BATCH_ENV)
    if not raw:
        return None, None
    try:
        index = int(raw)
    except ValueError:
        raise AnalyzerError(f"{FAIL_BATCH_ENV}={raw!r}: give a batch number (0 is the first)") from None
    folder = os.environ.get(FAIL_MARKER_DIR_ENV) or tempfile.mkdtemp(prefix="analyzer-ray-fail-")
    return index, os.path.join(folder, f"batch-{index}.killed")


def _ray() -> Any:
    """The ray module, imported here only (its API is only partly annotated: used as Any)."""
    import ray
    return ray


def _init(ray: Any, address: str | None) -> bool:
    """Connect (or start a local Ray) unless this process already did; True if we did it here."""
    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"address": address, "include_dashboard": False, "log_to_driver": True,
                              "logging_level": "WARNING", "configure_logging": True}
    if address:  # workers of an existing cluster run the driver's analyzer code, same parsing
        import analyzer
        kwargs["runtime_env"] = {"py_modules": [os.path.dirname(analyzer.__file__)]}
    try:
        ray.init(**kwargs)
    except (ConnectionError, TimeoutError, ValueError, RuntimeError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AnalyzerError(f"--engine ray: cannot start or reach {where}: {first[:300]}; nothing was "
                            f"read (check --ray-address / RAY_ADDRESS)") from None
    return True


def ray_reader(address: str | None = None) -> BatchReader:
    """A BatchReader running each batch as a Ray task; `address` as `ray.init` takes it
    ("auto", "ray://host:10001", a GCS address; None: RAY_ADDRESS or a new local Ray)."""
    problem = ray_missing_message()
    if problem:
        raise RayMissing(problem)

    def read_on_ray(batches: list[list[TrialArtifacts]], study: str | None, stamp: datetime,
                    progress: Progress) -> Iterable[ReadBatch]:
        return _read_on_ray(batches, study, stamp, progress, address)
    return read_on_ray


def _read_on_ray(batches: list[list[TrialArtifacts]], study: str | None, stamp: datetime,
                 progress: Progress, address: str | None) -> Iterator[ReadBatch]:
    if not batches:
        return
    ray = _ray()
    started_here = _init(ray, address)
    pending: deque[Any] = deque()
    try:
        task = ray.remote(max_retries=MAX_RETRIES, retry_exceptions=False)(read_packed)
        window = max(2, int(ray.cluster_resources().get("CPU", 1) * IN_FLIGHT_PER_CPU))
        fail_index, marker = _fail_plan()
        study_ref, stamp_ref = ray.put(study), ray.put(stamp)
        submitted = 0
        while submitted < len(batches) or pending:
            while submitted < len(batches) and len(pending) < window:
                pending.append(task.remote(batches[submitted], study_ref, stamp_ref,
                                           marker if submitted == fail_index else None))
                submitted += 1
            data = unpack(ray.get(pending.popleft()))  # in batch order: ids as with --engine local
            progress.advance(trials=len(data.parses), nbytes=sum(st.size_bytes for st in data.scan.stats))
            yield data
    finally:  # the writer stopped early (an error, Ctrl-C): batches still queued are not wanted
        for ref in pending:
            ray.cancel(ref)
        if started_here:
            ray.shutdown()

