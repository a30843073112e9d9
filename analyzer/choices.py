"""The closed lists of values that flags accept, defined once: the CLI's click.Choice options and
the modules that act on them (output.py, export.py, gate.py, rules.py) all read them from here.

Nothing heavy is imported: `analyzer --help` reads these without loading Polars or DuckDB."""

from __future__ import annotations

OUTPUT_FORMATS = ("table", "csv", "tsv", "markdown", "json", "jsonl")  # query, unknowns, backtest, rules test
EXPORT_FORMATS = ("parquet", "csv", "sqlite")                           # export --format
FAIL_ON = ("catastrophic", "oom", "any")                                # run --fail-on
STREAMS = ("stdout", "stderr", "kernel", "time")                        # log streams (rules, logs --stream)
