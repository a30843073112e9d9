"""The AnalyzerError tree and the documented exit codes. No click here."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of the `analyzer` command (documented in the README)."""

    OK = 0
    ERROR = 1            # any other analyzer error (bad SQL, unreadable rules file, ...)
    USAGE = 2            # click's own code for bad flags
    STORE_LOCKED = 3     # another process holds the store's write lock
    STORE_SCHEMA = 4     # the store was written by a newer analyzer, or is not a store
    INGEST_PROBLEMS = 5  # --strict and some artifact could not be read
    FAIL_ON = 6          # `run --fail-on` matched newly ingested failures
    NO_TRIALS = 7        # `ingest`/`run`: a root holds no trial (a nightly job must not go green)
    INTERRUPTED = 130    # Ctrl-C (SIGINT); batches already written are kept


class AnalyzerError(Exception):
    """Base class: a message for the user and the exit code it maps to."""

    exit_code: ExitCode = ExitCode.ERROR


class StoreLockedError(AnalyzerError):
    exit_code = ExitCode.STORE_LOCKED


class StoreSchemaError(AnalyzerError):
    exit_code = ExitCode.STORE_SCHEMA


class QueryError(AnalyzerError):
    exit_code = ExitCode.ERROR


class RulesError(AnalyzerError):
    exit_code = ExitCode.ERROR


class IngestProblems(AnalyzerError):
    exit_code = ExitCode.INGEST_PROBLEMS


class FailOnMatched(AnalyzerError):
    exit_code = ExitCode.FAIL_ON


class NoTrialsFound(AnalyzerError):
    exit_code = ExitCode.NO_TRIALS


class OutputRefused(AnalyzerError):
    """An --out that would replace an input (the store) or a file of another kind."""

    exit_code = ExitCode.USAGE


class OutputFailed(AnalyzerError):
    """Writing an output failed (full disk, permissions); the previous file is intact."""

    exit_code = ExitCode.ERROR


class BadSetting(AnalyzerError):
    """An environment variable with a value that cannot be used (like a bad flag value)."""

    exit_code = ExitCode.USAGE
