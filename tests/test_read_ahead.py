"""The local engine's reader thread (pipeline.read_locally): batches in order, at most two in
memory, a reader error raised in the writer, and a writer that stops early does not hang."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


@settings(max_examples=300, deadline=None)
@given(planned=st.lists(st.lists(st.integers(0, 300), min_size=1, max_size=12), max_size=6),
       ratios=st.lists(st.floats(0.0, 2.0), min_size=1, max_size=20))
def test_the_sizer_cuts_planned_batches_without_losing_or_reordering_a_trial(planned, ratios):
    """Whatever the compression ratios learnt between batches: every trial once, in order, never
    across two planned batches; a cut batch holds at most the limit unless it is one trial."""
    sizes = {}
    batches = []
    for batch in planned:
        batches.append([])
        for size in batch:
            name = f"t{len(sizes)}"
            sizes[name] = size
            batches[-1].append(name)
    sizer = pipeline.BatchSizer()
    out = []
    learnt = iter(ratios)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "_log_bytes", sizes.__getitem__)
        mp.setattr(pipeline, "PROBE_LOG_BYTES", 100)
        mp.setattr(pipeline, "HELD_LOG_BYTES", 200)
        mp.setattr(pipeline, "BATCH_LOG_BYTES", 1000)
        for batch in sizer.batches(batches):
            limit = sizer.limit()
            out.append(batch)
            assert batch and (len(batch) == 1 or limit >= 1000 or sum(sizes[n] for n in batch) <= limit)
            sizer.ratio = next(learnt, sizer.ratio)
    assert [n for b in out for n in b] == [n for b in batches for n in b]
    owner = {n: i for i, b in enumerate(batches) for n in b}
    assert all(len({owner[n] for n in b}) == 1 for b in out)
