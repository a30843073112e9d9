"""Help that teaches: `-h` everywhere, a worked example in every command's help, every command
in the README, and documented shell completion that works."""

from __future__ import annotations

import re

import click
import pytest

from analyzer.cli import main

from .conftest import REPO, invoke


def command_paths(group: click.Group = main, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for name, command in sorted(group.commands.items()):
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths.extend(command_paths(command, (*prefix, name)))
    return paths


PATHS = [(), *command_paths()]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "analyzer")
def test_every_command_has_dash_h_and_a_worked_example(runner, path):
    short = invoke(runner, *path, "-h")
    long = invoke(runner, *path, "--help")
    assert short.exit_code == 0 and short.stdout == long.stdout
    text = short.stdout
    assert re.search(r"^\s*Examples?\b.*:$", text, re.M), f"no Example in `analyzer {' '.join(path)} -h`"
    example_lines = re.findall(r"^ {6,}(analyzer .+|echo .+\| analyzer .+)$", text, re.M)
    command = " ".join(("analyzer", *path))
    assert any(command in line for line in example_lines), f"no `{command} ...` example line:\n{text}"


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_every_command_is_documented_in_the_readme(path):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"analyzer {' '.join(path)}" in readme


def test_readme_documents_shell_completion_and_it_works(runner):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "_ANALYZER_COMPLETE=bash_source analyzer" in readme
    source = runner.invoke(main, [], env={"_ANALYZER_COMPLETE": "bash_source"}, prog_name="analyzer")
    assert source.exit_code == 0 and "_analyzer_completion" in source.stdout
    env = {"_ANALYZER_COMPLETE": "bash_complete", "COMP_WORDS": "analyzer qu", "COMP_CWORD": "1"}
    assert runner.invoke(main, [], env=env, prog_name="analyzer").stdout.strip() == "plain,query"


def test_python_dash_m_analyzer_runs_the_command():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "analyzer", "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: analyzer ")
