"""The `analyzer` command: a thin click layer. Each command parses flags, calls one library
function and prints; errors become `Error: ...` and a documented exit code (errors.py)."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any, Callable

import click

from . import __version__
from .errors import AnalyzerError, ExitCode, FailOnMatched, IngestProblems
from .output import FORMATS, write_frame
from .store import default_db_path, open_store


def db_option(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--lock-timeout", type=float, default=None, metavar="SECONDS",
                        help="How long a writer waits for another process's lock (default 30, "
                             "or ANALYZER_LOCK_TIMEOUT).")(func)
    return click.option("--db", "db", default=None, metavar="PATH",
                        help="The DuckDB store (default ./analyzer.duckdb or ANALYZER_DB).")(func)


def format_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
                        show_default=True, help="Output format (data goes to stdout only).")(func)


def quiet_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--quiet", "-q", is_flag=True, help="No progress or summary on stderr.")(func)


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """The one place where AnalyzerError becomes a message and an exit code."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AnalyzerError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(int(exc.exit_code))
    return wrapper


def warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


def ingest_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """ROOTS and the options of `ingest`, shared by `run`."""
    for option in reversed([
        click.argument("roots", nargs=-1, required=True, type=click.Path(file_okay=False)),
        db_option,
        click.option("--study", default=None, help="Study name for generic trials that name none."),
        click.option("--config", "config", default=None, type=click.Path(dir_okay=False, exists=True),
                     help="A Noodle 2 study YAML to apply (memory limit, trial timeout)."),
        click.option("--default-memory-limit", default=None, metavar="SIZE",
                     help="Memory limit to assume where no artifact records one, Docker syntax (8g)."),
    ]):
        func = option(func)
    return func


@click.group()
@click.version_option(__version__, prog_name="analyzer")
def main() -> None:
    """Post-mortem analysis of finished OpenROAD / Noodle 2 studies, in one DuckDB file."""


@main.command()
@ingest_options
@click.option("--strict", is_flag=True, help=f"Exit {int(ExitCode.INGEST_PROBLEMS)} if any file could not be read.")
@quiet_option
@handle_errors
def ingest(roots: tuple[str, ...], db: str | None, lock_timeout: float | None, study: str | None,
           config: str | None, default_memory_limit: str | None, strict: bool, quiet: bool) -> None:
    """Find every trial under ROOTS and load it into the store."""
    report = run_ingest(list(roots), db, lock_timeout, study, config, default_memory_limit, quiet)
    if strict and report.errors:
        raise IngestProblems(f"{report.errors} artifact problem(s); see `analyzer query "
                             f"\"select * from ingest_errors\"`")


def run_ingest(roots: list[str], db: str | None, lock_timeout: float | None, study: str | None,
               config: str | None, default_memory_limit: str | None, quiet: bool):
    from .ingest.pipeline import IngestOptions, ingest as do_ingest
    from .ingest import ParseError

    opts = IngestOptions(study=study, config=config, default_memory_limit=default_memory_limit,
                         progress=not quiet and sys.stderr.isatty())
    try:
        with open_store(db, lock_timeout=lock_timeout) as store:
            report = do_ingest(store, roots, opts, warn if not quiet else (lambda _m: None))
    except ParseError as exc:
        raise AnalyzerError(exc.problem) from exc
    if not quiet:
        click.echo(
            f"ingest: {report.trials_found} trials found, {report.trials_parsed} read, "
            f"{report.trials_skipped} unchanged, {report.crashed_before_dir} listed only in "
            f"study_summary.json; {report.errors} artifact problem(s); "
            f"{report.log_bytes / 1e6:.1f} MB of logs; store {db or default_db_path()}", err=True)
    return report


def rules_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--rules", "rules_file", default=None, type=click.Path(dir_okay=False, exists=True),
                        help="A rules file adding to or overriding the shipped rules.")(func)


@main.command()
@db_option
@rules_option
@quiet_option
@handle_errors
def classify(db: str | None, lock_timeout: float | None, rules_file: str | None, quiet: bool) -> None:
    """(Re)classify every trial in the store from the store alone."""
    run_classify(db, lock_timeout, rules_file, quiet)


def run_classify(db: str | None, lock_timeout: float | None, rules_file: str | None, quiet: bool):
    from .classify import classify_store
    from .rules import load_rules

    rules = load_rules(rules_file)
    with open_store(db, lock_timeout=lock_timeout) as store:
        result = classify_store(store, rules)
    if not quiet:
        counts = result.failures["failure_type"].value_counts(sort=True)
        by_type = ", ".join(f"{t} {n}" for t, n in counts.iter_rows())
        click.echo(f"classify: {result.verdicts.height} trials, {result.failures.height} failed "
                   f"({by_type or 'none'}); {result.containment.height} ECO class(es) contained; "
                   f"rules {rules.version}", err=True)
    return result


def report_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--out", default="report.html", show_default=True, type=click.Path(dir_okay=False),
                        help="The HTML file to write.")(func)
    func = click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]),
                        default=None, help="Only trials that started on or after this UTC date/time.")(func)
    return click.option("--study", "studies", multiple=True, metavar="NAME",
                        help="Only these studies (repeat the option).")(func)


@main.command()
@db_option
@report_options
@quiet_option
@handle_errors
def report(db: str | None, lock_timeout: float | None, studies: tuple[str, ...], since: Any, out: str,
           quiet: bool) -> None:
    """Write one self-contained HTML post-mortem report from the store."""
    run_report(db, lock_timeout, list(studies), since, out, quiet)


def run_report(db: str | None, lock_timeout: float | None, studies: list[str], since: Any, out: str,
               quiet: bool) -> None:
    from .report import write_report

    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        ctx = write_report(store, out, studies or None, since)
    if not quiet:
        click.echo(f"report: {out} ({ctx.totals['trials']} trials, {ctx.totals['failed']} failed, "
                   f"{ctx.totals['studies']} studies)", err=True)


@main.command()
@ingest_options
@click.option("--out", default="report.html", show_default=True, type=click.Path(dir_okay=False),
              help="The HTML report to write.")
@rules_option
@click.option("--fail-on", type=click.Choice(["catastrophic", "oom", "any"]), default=None,
              help=f"Exit {int(ExitCode.FAIL_ON)} when newly ingested trials failed this way.")
@quiet_option
@handle_errors
def run(roots: tuple[str, ...], db: str | None, lock_timeout: float | None, study: str | None,
        config: str | None, default_memory_limit: str | None, out: str, rules_file: str | None,
        fail_on: str | None, quiet: bool) -> None:
    """Ingest ROOTS, classify, and write the report: the nightly job in one command."""
    from .gate import fail_on_matches, summary_line

    ingested = run_ingest(list(roots), db, lock_timeout, study, config, default_memory_limit, quiet)
    run_classify(db, lock_timeout, rules_file, quiet)
    run_report(db, lock_timeout, [], None, out, quiet)
    if fail_on:
        with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
            matches = fail_on_matches(store, fail_on, ingested.new_trial_ids)
        if matches.height:
            raise FailOnMatched(summary_line(fail_on, matches, len(ingested.new_trial_ids)))


@main.command()
@db_option
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv", "sqlite"]), required=True,
              help="parquet/csv: one file per view in the --out folder; sqlite: one database file.")
@click.option("--out", required=True, type=click.Path(), help="Folder (parquet, csv) or file (sqlite).")
@quiet_option
@handle_errors
def export(db: str | None, lock_timeout: float | None, fmt: str, out: str, quiet: bool) -> None:
    """Export every public view for other tools."""
    from .export import export_views

    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        counts = export_views(store, fmt, out)
    if not quiet:
        click.echo(f"export: {sum(counts.values())} rows from {len(counts)} views to {out}", err=True)


@main.group()
def rules() -> None:
    """Inspect and validate classification rules files."""


@rules.command("check")
@click.argument("path", type=click.Path(dir_okay=False, exists=True))
@handle_errors
def rules_check(path: str) -> None:
    """Validate a rules file; each problem names the rule and the field."""
    from .rules import check_rules, load_rules

    problems = check_rules(path)
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        sys.exit(int(ExitCode.ERROR))
    ruleset = load_rules(path)
    click.echo(f"{path}: ok ({len(ruleset.rules)} rules after merging, version {ruleset.version})")


@main.command("logs")
@click.argument("trial")
@click.option("--stream", "streams", multiple=True, type=click.Choice(["stdout", "stderr", "kernel", "time"]),
              help="Only this stream (repeat for several; default: every stored one).")
@click.option("--grep", "pattern", default=None, metavar="REGEX",
              help="Only lines matching this regex (Rust syntax, like rules), as stream:line: text.")
@click.option("--ignore-case", "-i", is_flag=True, help="Case-insensitive --grep.")
@db_option
@handle_errors
def logs(trial: str, streams: tuple[str, ...], pattern: str | None, ignore_case: bool, db: str | None,
         lock_timeout: float | None) -> None:
    """Print a trial's stored log from the store (the artifacts may be deleted). TRIAL is a
    trial_id or a unique suffix of one. With --grep, exit 1 when no line matches."""
    from .logstore import show_log

    out = sys.stdout.buffer
    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        n = show_log(store, trial, list(streams), pattern, ignore_case, out.write)
    out.flush()
    if pattern is not None and n == 0:
        sys.exit(int(ExitCode.ERROR))


@main.command()
@click.argument("sql", required=False)
@click.option("--file", "sql_file", type=click.File("r"), help="Read the SQL from a file.")
@click.option("--name", default=None, help="Run a named query from sql/queries (see --list).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Parameter of a named query.")
@click.option("--list", "list_names", is_flag=True, help="List the named queries.")
@db_option
@format_option
@handle_errors
def query(sql: str | None, sql_file: Any, name: str | None, params: tuple[str, ...], list_names: bool,
          db: str | None, lock_timeout: float | None, fmt: str) -> None:
    """Run SQL on a read-only connection to the store; results go to stdout."""
    from .queries import list_queries, run_query

    if list_names:
        for qname, summary in list_queries():
            click.echo(f"{qname}\t{summary}")
        return
    text = sql_file.read() if sql_file else sql
    if not text and not name:
        raise click.UsageError("give SQL, --file F or --name NAME")
    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        frame = run_query(store, text, name, dict(_split_param(p) for p in params))
    write_frame(frame, fmt)


def _split_param(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"{text!r} is not KEY=VALUE", param_hint="--param")
    return key, value


if __name__ == "__main__":
    main()
