"""Output pinned exactly by golden files in tests/golden/: every `query --format` (on awkward
values and on a named query over sample_logs), `query --list`, the table at 80 and 160 columns,
and every command's `--help` at 80 columns.

Regenerate after an intended change, then review the diff:

    ANALYZER_UPDATE_GOLDENS=1 python -m pytest tests/test_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyzer.cli import main
from analyzer.output import FORMATS
from analyzer.store import open_store

from .conftest import SharedSample
from .test_help import PATHS
from .test_output import ODD_SQL, TRIALS_SQL

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("ANALYZER_UPDATE_GOLDENS") == "1" or bool(os.environ.get("UPDATE_GOLDEN"))


def check_golden(name: str, text: str) -> None:
    """`text` equals tests/golden/<name> exactly (rewritten instead when ANALYZER_UPDATE_GOLDENS=1)."""
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing {path}; run ANALYZER_UPDATE_GOLDENS=1 python -m pytest tests/test_golden.py"
    assert text == path.read_text(encoding="utf-8"), (
        f"output differs from {path} (if the change is intended: "
        "ANALYZER_UPDATE_GOLDENS=1 python -m pytest tests/test_golden.py, then review the diff)")


def run(*args: str, **extra: object) -> str:
    """stdout of `analyzer ARGS` (exit 0 and an empty stderr required)."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False, **extra)  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return result.stdout


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = str(tmp_path_factory.mktemp("golden") / "store.duckdb")
    open_store(db).close()
    return db


@pytest.fixture(scope="module")
def sample_store(shared_sample: SharedSample) -> str:
    """sample_logs ingested (--default-memory-limit 8g) and classified; only read here."""
    return shared_sample.template("--default-memory-limit", "8g")


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_every_kind_of_value(empty_store: str, fmt: str) -> None:
    check_golden(f"odd_values.{fmt}", run("query", ODD_SQL, "--db", empty_store, "--format", fmt))


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_of_a_named_query_on_the_sample(sample_store: str, fmt: str) -> None:
    out = run("query", "--name", "oom_by_eco_class", "--db", sample_store, "--format", fmt, "--width", "120")
    assert out.strip(), "the named query returned nothing on sample_logs"
    check_golden(f"oom_by_eco_class.{fmt}", out)


@pytest.mark.parametrize("width", [80, 160])
def test_table_at_a_width(empty_store: str, width: int) -> None:
    check_golden(f"table_{width}.txt", run("query", TRIALS_SQL, "--db", empty_store, "--width", str(width)))


def test_query_list() -> None:
    check_golden("query_list.txt", run("query", "--list"))


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "analyzer")
def test_help(path: tuple[str, ...]) -> None:
    text = run(*path, "--help", terminal_width=80)
    check_golden(f"help/{'_'.join(('analyzer', *path))}.txt", text)
