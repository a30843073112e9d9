"""The local engine's reader thread (pipeline.read_locally): batches in order, at most two in
memory, a reader error raised in the writer, and a writer that stops early does not hang."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest

from analyzer.ingest import pipeline
from analyzer.ingest.progress import Progress


class _Batch:
    live = 0
    most = 0
    lock = threading.Lock()

    def __init__(self, n: int) -> None:
        self.n = n
        with _Batch.lock:
            _Batch.live += 1
            _Batch.most = max(_Batch.most, _Batch.live)

    def __del__(self) -> None:
        with _Batch.lock:
            _Batch.live -= 1


class _AsPlanned:
    """The fake batches are not trials: read them as planned (sizing is test_binary_logs')."""

    def batches(self, planned):
        return iter(planned)

    def learn(self, data) -> None:
        pass


@pytest.fixture
def fake_reads(monkeypatch):
    _Batch.live = _Batch.most = 0
    monkeypatch.setattr(pipeline, "BatchSizer", _AsPlanned)

    def read_batch(batch, study, stamp, progress=None):
        time.sleep(0.01)
        if batch == ["boom"]:
            raise ValueError("unreadable batch")
        return _Batch(batch[0])
    monkeypatch.setattr(pipeline, "read_batch", read_batch)


def _read(batches):
    return pipeline.read_locally(batches, None, datetime(2026, 1, 1), Progress(0, False))


def test_batches_come_in_order_and_at_most_two_are_held(fake_reads):
    seen = []
    for data in _read([[i] for i in range(30)]):
        seen.append(data.n)
        time.sleep(0.02)  # a slow writer: the reader would run ahead if nothing stopped it
        del data
    assert seen == list(range(30))
    assert _Batch.most <= pipeline.BATCHES_IN_MEMORY


def test_a_reader_error_is_raised_in_the_writer(fake_reads):
    seen = []
    with pytest.raises(ValueError, match="unreadable batch"):
        for data in _read([[0], [1], ["boom"], [3]]):
            seen.append(data.n)
    assert seen == [0, 1]


def test_a_writer_that_stops_early_stops_the_reader(fake_reads):
    before = threading.active_count()
    gen = _read([[i] for i in range(1000)])
    assert next(gen).n == 0
    gen.close()  # the writer failed: the reader thread must end, not read 999 more batches
    assert threading.active_count() == before
