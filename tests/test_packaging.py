"""The suite tests what users install: under `.ci/run` (ANALYZER_TEST_INSTALLED=1) `analyzer`
must resolve to the installed wheel, for the tests and for the commands they start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import analyzer

from .conftest import REPO, installed_package_expected


def _in_checkout(path: str) -> bool:
    """The checkout's own package folder (a venv inside the clone, as .ci/run makes, is not it)."""
    return Path(path).resolve().is_relative_to(REPO / "analyzer")


@pytest.mark.skipif(not installed_package_expected(), reason="set ANALYZER_TEST_INSTALLED=1 (.ci/run does)")
def test_tests_and_their_child_processes_import_the_installed_package(tmp_path: Path) -> None:
    assert not _in_checkout(analyzer.__file__), f"tests import the checkout: {analyzer.__file__}"
    child = subprocess.run([sys.executable, "-c", "import analyzer; print(analyzer.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, timeout=60, check=True)
    assert child.stdout.strip() == analyzer.__file__
    assert (Path(analyzer.__file__).parent / "py.typed").exists()  # shipped in the wheel

