"""What an ingest is asked to do and what it did (plain data; no heavy imports, so a re-ingest of
an unchanged corpus can answer without loading the pipeline: see unchanged.py)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class IngestOptions:
    study: str | None = None
    config: str | None = None
    default_memory_limit: str | None = None
    progress: bool = False


@dataclass
class IngestReport:
    trials_found: int = 0
    trials_parsed: int = 0
    trials_skipped: int = 0
    crashed_before_dir: int = 0
    studies: set[str] = field(default_factory=set)
    new_trial_ids: list[str] = field(default_factory=list)
    errors: int = 0              # problems met by this run
    errors_standing: int = 0     # problems recorded for everything found (read or unchanged)
    log_bytes: int = 0
    trials_per_root: dict[str, int] = field(default_factory=dict)
