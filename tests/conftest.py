from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyzer.cli import main

REPO = Path(__file__).resolve().parents[1]
FORMATS = Path(__file__).resolve().parent / "fixtures" / "formats"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def sample_root(tmp_path: Path) -> Path:
    """A private copy of sample_logs/ (tests may modify it)."""
    dest = tmp_path / "sample_logs"
    shutil.copytree(REPO / "sample_logs", dest, ignore=shutil.ignore_patterns("*.py", "README.md"))
    return dest


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "store.duckdb")


def invoke(runner: CliRunner, *args: str):
    result = runner.invoke(main, list(args), catch_exceptions=False)
    return result


def ingest_and_classify(runner: CliRunner, root, db: str, *ingest_args: str) -> None:
    """`analyzer ingest ROOT` then `analyzer classify`, both required to succeed."""
    ingested = invoke(runner, "ingest", str(root), "--db", db, "-q", *ingest_args)
    assert ingested.exit_code == 0, ingested.output
    classified = invoke(runner, "classify", "--db", db, "-q")
    assert classified.exit_code == 0, classified.output


def query_rows(runner: CliRunner, db: str, sql: str) -> list[dict]:
    import json
    result = invoke(runner, "query", sql, "--db", db, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def make_generic_trial(root: Path, name: str, exit_code: str | None, **files: str | bytes) -> Path:
    """A generic container trial: exit_code plus named files (use '/' in names for subdirs)."""
    trial = root / name
    trial.mkdir(parents=True, exist_ok=True)
    if exit_code is not None:
        (trial / "exit_code").write_text(exit_code)
    for fname, content in files.items():
        path = trial / fname
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return trial


# ---------------------------------------------------------------------------------------------
# Shared corpora: ingest each corpus once per session (per xdist worker), copy the store per test.
# A 7 MB file copy costs milliseconds; an ingest + classify of sample_logs costs seconds.


def run_in_pty(args: list[str], timeout: float = 60,
               env: dict[str, str] | None = None) -> tuple[int, list[tuple[float, str]]]:
    """Run `analyzer` with stderr on a pseudo-terminal (so progress paints); (exit code,
    [(time read, chunk)]) once it exits or `timeout` seconds pass."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "analyzer.cli", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    chunks: list[tuple[float, str]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append((time.monotonic(), data.decode("utf-8", "replace")))
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=30), chunks


def copy_store(template: str | Path, dest: str | Path) -> str:
    """Copy a closed store file (and its WAL, if any) to `dest`; return `dest` as text."""
    shutil.copyfile(template, dest)
    wal = Path(f"{template}.wal")
    if wal.exists():
        shutil.copyfile(wal, f"{dest}.wal")
    return str(dest)


def _tree_state(root: Path) -> list[tuple[str, int, int]]:
    return sorted((str(p.relative_to(root)), p.lstat().st_size, p.lstat().st_mtime_ns) for p in root.rglob("*"))


class SharedSample:
    """One read-only copy of sample_logs/ and stores built from it once, keyed by how they were made.

    `root` must never be modified (a test that changes files takes `sample_root`, its own copy);
    the session checks this at the end. Stores are templates: `store(dest, ...)` copies one to
    `dest` for a test that may write it.
    """

    def __init__(self, base: Path) -> None:
        self.base = base
        self.root = base / "sample_logs"
        shutil.copytree(REPO / "sample_logs", self.root, ignore=shutil.ignore_patterns("*.py", "README.md"))
        self.state = _tree_state(self.root)
        self._templates: dict[tuple[tuple[str, ...], bool], str] = {}
        self.ingest_stderr: dict[tuple[str, ...], str] = {}

    def template(self, *ingest_args: str, classify: bool = True) -> str:
        """The template store of `analyzer ingest ROOT *ingest_args` (then `classify`)."""
        key = (tuple(ingest_args), classify)
        if key not in self._templates:
            runner = CliRunner()
            name = "_".join(a.strip("-") for a in ingest_args) or "plain"
            db = str(self.base / f"template_{name}_{'classified' if classify else 'ingested'}.duckdb")
            if classify:
                copy_store(self.template(*ingest_args, classify=False), db)
                classified = invoke(runner, "classify", "--db", db, "-q")
                assert classified.exit_code == 0, classified.output
            else:
                ingested = invoke(runner, "ingest", str(self.root), "--db", db, *ingest_args)
                assert ingested.exit_code == 0, ingested.output
                self.ingest_stderr[tuple(ingest_args)] = ingested.stderr
            self._templates[key] = db
        return self._templates[key]

    def store(self, dest: str | Path, *ingest_args: str, classify: bool = True) -> str:
        """A private copy at `dest` of the template store made with these arguments."""
        return copy_store(self.template(*ingest_args, classify=classify), dest)


@pytest.fixture(scope="session")
def shared_sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedSample]:
    shared = SharedSample(tmp_path_factory.mktemp("shared_sample"))
    yield shared
    assert _tree_state(shared.root) == shared.state, "a test modified the shared sample_logs copy"


@pytest.fixture(scope="session")
def sample_report_template(shared_sample: SharedSample) -> tuple[str, str]:
    """(store, report.html) of `analyzer run sample_logs --default-memory-limit 8g`, made once."""
    store = shared_sample.template("--default-memory-limit", "8g")
    out = shared_sample.base / "report.html"
    result = invoke(CliRunner(), "report", "--db", store, "--out", str(out), "-q")
    assert result.exit_code == 0, result.output
    return store, str(out)


def installed_package_expected() -> bool:
    """`.ci/run` tests the installed wheel, not the checkout: it sets ANALYZER_TEST_INSTALLED=1."""
    return os.environ.get("ANALYZER_TEST_INSTALLED") == "1"
