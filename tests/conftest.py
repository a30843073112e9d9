from __future__ import annotations

import shutil
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
