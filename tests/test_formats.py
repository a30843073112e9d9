"""Every real format sample in tests/fixtures/formats/ (sources in SOURCES.md) through the reader
the table of readers gives its role; the expected facts were read off the samples by hand."""

from __future__ import annotations

import re

import pytest

from analyzer.ingest.logs import LogFile, scan_logs
from analyzer.ingest.readers import BY_ROLE, Facts
from analyzer.ingest.trial import run_reader

from .conftest import FORMATS, invoke, make_generic_trial, query_rows

MIB = 1 << 20


def read(role: str, name: str) -> Facts:
    return run_reader(BY_ROLE[role], str(FORMATS / name))


def usages(facts: Facts) -> list[tuple[float | None, float | None, str | None]]:
    return [(s.usage_bytes, s.limit_bytes, s.container) for s in facts.samples]


# (file, expected (usage, limit, container) of the first sample, number of samples)
STATS = [
    ("api-stats-cgroupv1.json", (724992.0, 10449559552.0, "bold_sinoussi"), 1),
    ("api-stats-cgroupv2-oom.json", (234647552.0, 268435456.0, "compassionate_mcnulty"), 1),
    ("docker-stats-json-docs.jsonl", (2.352 * MIB, 982.5 * MIB, "nginx"), 1),
    ("docker-stats-json-valid-and-invalid.jsonl", (9.137 * MIB, 40 * MIB, "d2mqtt"), 2),
    ("docker-stats-table-docs-all-stopped.txt", (56 * 1024, 15.57 * 1024 * MIB, "fervent_panini"), 4),
    ("docker-stats-table-docs-default.txt", (5.629 * MIB, 1.952 * 1024 * MIB, "awesome_brattain"), 4),
    ("docker-stats-table-docs-windows-legacy.txt", (38.21 * MIB, None, "09d3bb5b1604"), 3),
    ("docker-stats-table-legacy-2015.txt", (41.16 * MIB, 994 * MIB, "fbapi"), 5),
    ("docker-stats-table-modern-2.txt", (2.575 * 1024 * MIB, 15.58 * 1024 * MIB, "ollama"), 1),
    ("docker-stats-table-modern.txt", (47.43 * MIB, 15.58 * 1024 * MIB, "competent_ishizaka"), 1),
    ("docker-stats-table-rows-noheader.txt", (2.482 * 1024 * MIB, 12 * 1024 * MIB, "1965d7ae7104"), 2),
]


@pytest.mark.parametrize("name, first, count", STATS, ids=[s[0] for s in STATS])
def test_docker_stats_samples(name, first, count):
    facts = read("stats", name)
    assert len(facts.samples) == count and not facts.notes
    usage, limit, container = usages(facts)[0]
    assert usage == pytest.approx(first[0], rel=1e-3)
    assert (limit is None and first[1] is None) or limit == pytest.approx(first[1], rel=1e-3)
    assert container == first[2]


def test_engine_api_peaks_and_oom_events():
    v1 = read("stats", "api-stats-cgroupv1.json")
    assert v1.max_usage_bytes == 3932160.0 and v1.values["oom_events"] is None  # v1: failcnt is not OOMs
    v2 = read("stats", "api-stats-cgroupv2-oom.json")
    assert v2.max_usage_bytes is None and v2.values["oom_events"] == 1           # v2: failcnt = oom


def test_docker_stats_placeholder_row_is_an_unknown_sample():
    facts = read("stats", "docker-stats-json-valid-and-invalid.jsonl")
    assert usages(facts)[1] == (None, None, "camera_events")


INSPECT = [
    ("inspect-cgroupv2-memory-limit.json", False, 0, 256.0, "2023-04-25T10:39:23.758576058Z", "alpine"),
    ("inspect-state-json-oomkilled-child-exit0.jsonl", False, 0, None, "2016-06-13T13:39:37.805772027Z", None),
    ("inspect-state-oomkilled-false-exit137.json", False, 137, None, "2020-07-31T22:26:20.031194Z", None),
    ("inspect-state-oomkilled-true-exit1-6MiB-limit.txt", True, 1, 6.0, None, None),
    ("inspect-state-oomkilled-true-exit137-2017.json", True, 137, None, "2017-04-29T15:01:24.940805854Z", None),
]


@pytest.mark.parametrize("name, oom, code, limit, started, image", INSPECT, ids=[i[0] for i in INSPECT])
def test_docker_inspect_state(name, oom, code, limit, started, image):
    v = read("inspect", name).values
    assert (v["oom_killed"], v["exit_code"], v["limit_inspect_mb"], v["started_at"], v["image"]) == \
        (oom, code, limit, started, image)


def test_elided_inspect_paste_is_salvaged_with_a_note():
    facts = read("inspect", "inspect-state-oomkilled-true-exit1-6MiB-limit.txt")
    assert facts.notes and "recovered by pattern" in facts.notes[0][1]


@pytest.mark.parametrize("name, peak_kb, elapsed", [("usr-bin-time-v-exit0.txt", 120380, 1.59),
                                                    ("usr-bin-time-v-nonzero-exit.txt", 8724, 0.02)])
def test_gnu_time(name, peak_kb, elapsed):
    v = read("time", name).values
    assert v["peak_time_mb"] == pytest.approx(peak_kb / 1024) and v["runtime_seconds"] == pytest.approx(elapsed)


def _galaxy_files(name: str) -> dict[str, str]:
    """Galaxy's `__memory.peak__` header-line dump, split back into one text per cgroup file."""
    parts = re.split(r"^__(.+?)__$", (FORMATS / name).read_text(), flags=re.M)
    return {parts[i]: parts[i + 1].lstrip("\n") for i in range(1, len(parts) - 1, 2)}


@pytest.mark.parametrize("name, expected", [
    ("cgroupv1-files-dump-galaxy.txt", {"limit_cgroup_mb": None}),  # 9223372036854771712 = unlimited
    ("cgroupv2-files-dump-galaxy.txt", {"limit_cgroup_mb": None, "oom_events": 0, "oom_kill_events": 0}),
])
def test_cgroup_dumps(tmp_path, name, expected):
    files = _galaxy_files(name)
    merged: dict[str, object] = {}
    read_any = 0
    for fname, text in files.items():
        role = f"cgroup/{fname}"
        if role not in BY_ROLE:
            continue
        path = tmp_path / fname
        path.write_text(text)
        facts = run_reader(BY_ROLE[role], str(path))
        read_any += 1
        for k, v in facts.values.items():
            merged.setdefault(k, v) if v is not None else None
    assert read_any >= 4
    for key, value in expected.items():
        assert merged.get(key) == value, (key, merged)
    if "memory.max_usage_in_bytes" in files:
        assert merged["peak_cgroup_mb"] == int(files["memory.max_usage_in_bytes"]) / MIB > 0
    if "memory.peak" in files:
        assert merged["peak_cgroup_mb"] == int(files["memory.peak"]) / MIB


def test_oom_control_before_kernel_4_13_has_no_kill_count():
    assert read("cgroup/memory.oom_control", "cgroupv1-memory.oom_control-pre-4.13.txt").values == {"oom_kill_events": None}


LOGS = [
    ("kernel-oom-global-modern.log", "Out of memory: Killed process"),
    ("kernel-oom-header-rhel7-syslog.log", "invoked oom-killer"),
    ("kernel-oom-memcg-docker-syslog.log", "Memory cgroup out of memory: Killed process"),
    ("kernel-oom-memcg-legacy-2015.log", "Memory cgroup out of memory: Kill process"),
    ("kernel-oom-memcg-modern.log", "Killed process"),
    ("docker-events-oom-die-2017.txt", "container oom"),
    ("docker-ps-status-exit-codes.txt", "Exited (139)"),
]


@pytest.mark.parametrize("name, needle", LOGS, ids=[n for n, _ in LOGS])
def test_logs_keep_the_evidence_line(name, needle):
    scan = scan_logs([LogFile(0, "kernel", str(FORMATS / name))])
    assert scan.stats[0].error is None and scan.stats[0].size_bytes == (FORMATS / name).stat().st_size
    assert any(needle in t for t in scan.lines["text"].to_list())


def test_a_trial_made_of_real_samples_ingests_with_every_source(runner, tmp_path, db):
    cg = _galaxy_files("cgroupv2-files-dump-galaxy.txt")
    make_generic_trial(tmp_path / "s", "t1", "137", **{
        "docker_inspect.json": (FORMATS / "inspect-cgroupv2-memory-limit.json").read_text(),
        "docker_stats.json": (FORMATS / "api-stats-cgroupv2-oom.json").read_text(),
        "time.txt": (FORMATS / "usr-bin-time-v-exit0.txt").read_text(),
        "dmesg.txt": (FORMATS / "kernel-oom-memcg-modern.log").read_text(),
        "cgroup/memory.peak": cg["memory.peak"], "cgroup/memory.events": cg["memory.events"],
        "cgroup/memory.max": cg["memory.max"]})
    result = invoke(runner, "ingest", str(tmp_path / "s"), "--db", db)
    assert result.exit_code == 0 and "0 artifact problem" in result.stderr, result.output
    row = query_rows(runner, db, "select exit_code, oom_killed, memory_limit_mb, memory_limit_source, "
                                 "peak_memory_source, peak_memory_mb from trials")[0]
    assert row["exit_code"] == 137 and row["oom_killed"] is False
    assert (row["memory_limit_mb"], row["memory_limit_source"]) == (256.0, "docker_inspect")
    assert row["peak_memory_source"] == "cgroup" and row["peak_memory_mb"] == int(cg["memory.peak"]) / MIB
