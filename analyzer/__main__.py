"""`python -m analyzer` runs the `analyzer` command."""

from __future__ import annotations

from .cli import main

main(prog_name="analyzer")
