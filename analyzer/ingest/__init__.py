"""Ingest: find trials under roots, parse every artifact format, write whole trials to the store."""

from __future__ import annotations


class ParseError(Exception):
    """A file could not be read or parsed. `hint` says what was done about it."""

    def __init__(self, problem: str, hint: str = "the trial was ingested without it") -> None:
        super().__init__(problem)
        self.problem = problem
        self.hint = hint
