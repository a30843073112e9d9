"""Property tests (Hypothesis): every reader of the table, on arbitrary text, bytes and
JSON-shaped input, returns Facts or raises ParseError, never anything else; the typed record
turns any values into a row that fits trial_facts."""

from __future__ import annotations

import contextlib
import json
import math

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.ingest import ParseError
from analyzer.ingest.readers import READERS, Facts
from analyzer.ingest.record import COLUMNS, SCHEMA, BadValue, TrialRecord, coerce, frame
from analyzer.units import parse_time, ram_in_bytes

PROPS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
READ = [r for r in READERS if r.read is not None]
KEYS = ["State", "OOMKilled", "ExitCode", "StartedAt", "FinishedAt", "HostConfig", "Memory", "Config",
        "Image", "Cmd", "Name", "Id", "Path", "Args", "memory_stats", "usage", "stats", "limit",
        "max_usage", "failcnt", "anon", "inactive_file", "read", "name", "id", "MemUsage", "Container",
        "study_name", "case_name", "stage_index", "trial_index", "return_code", "start_time", "end_time",
        "runtime_seconds", "timed_out", "metadata", "eco_type", "eco_class", "eco_parameters", "failure",
        "metrics", "memory_limit_mb", "provenance", "container_image", "container_tag", "peak_memory_mb",
        "memory_limit", "stage", "trial", "case", "study", "started_at", "finished_at", "timeout_seconds",
        "command", "image", "eco_name"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=2 ** 60, max_value=2 ** 80),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["0001-01-01T00:00:00Z", "2026-11-27T01:02:03.123456789Z", "8g", "max", "--",
                     "1.5GiB / 2GiB", "9999-12-31", "NaN"]),
    st.sampled_from([1764205200000, 3221225477, -1, 1e300]))
JSON = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=6)), max_leaves=25)


def _dumps(doc: object) -> str:
    return json.dumps(doc)  # NaN / Infinity are written as Python's json writes them


def _check(reader, text: str) -> None:
    for name in reader.names:
        path = f"/nowhere/{name.replace('*', 'x')}"
        try:
            facts = reader.read(path, text)
        except ParseError:
            continue
        assert isinstance(facts, Facts)


@pytest.mark.parametrize("reader", READ, ids=[r.role for r in READ])
@PROPS
@given(text=st.text(max_size=300))
def test_reader_on_arbitrary_text(reader, text):
    _check(reader, text)


@pytest.mark.parametrize("reader", READ, ids=[r.role for r in READ])
@PROPS
@given(data=st.binary(max_size=300))
def test_reader_on_arbitrary_bytes(reader, data):
    _check(reader, data.decode("utf-8", "replace"))


@pytest.mark.parametrize("reader", READ, ids=[r.role for r in READ])
@PROPS
@given(doc=JSON)
def test_reader_on_json_shaped_input(reader, doc):
    text = _dumps(doc)
    _check(reader, text)
    _check(reader, text + "\n" + text)  # JSON lines
    if isinstance(doc, dict):
        _check(reader, _dumps({"State": doc, "HostConfig": doc, "memory_stats": doc, "metadata": doc}))


@PROPS
@given(doc=st.dictionaries(st.sampled_from(list(COLUMNS)), JSON, max_size=12))
def test_record_takes_any_values_and_its_row_fits_the_table(doc):
    rec = TrialRecord()
    problems = rec.update(doc)
    assert all(isinstance(p, str) and p for p in problems)
    row = frame([rec])  # raises if any value does not fit its column type
    assert row.schema == pl.Schema(SCHEMA)
    for name in ("peak_stats_mb", "limit_inspect_mb", "runtime_seconds"):
        value = row[name][0]
        assert value is None or (math.isfinite(value) and value >= 0)


@PROPS
@given(kind=st.sampled_from(sorted({k for k, _ in COLUMNS.values()})), value=JSON)
def test_coerce_gives_a_value_or_bad_value(kind, value):
    try:
        coerce(kind, value, "field")
    except BadValue as exc:
        assert exc.problem.startswith("field: ")


@PROPS
@given(value=JSON)
def test_parse_time_gives_a_time_none_or_value_error(value):
    try:
        parsed = parse_time(value)
    except ValueError:
        return
    assert parsed is None or 1970 <= parsed.year < 2200


@PROPS
@given(text=st.text(max_size=40))
def test_ram_in_bytes_gives_bytes_or_value_error(text):
    with contextlib.suppress(ValueError):
        assert 0 <= ram_in_bytes(text) < 2 ** 63
