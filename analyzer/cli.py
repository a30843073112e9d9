"""The `analyzer` command: a thin click layer. Each command parses flags, calls one library
function and prints; errors become `Error: ...` and a documented exit code (errors.py)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import AnalyzerError, ExitCode, FailOnMatched, IngestProblems
from .output import FORMATS, write_frame
from .store import default_db_path, open_store


def _finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """FloatRange lets nan and inf through; a wait of nan seconds is a usage error."""
    import math

    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value!r}: give a number of seconds >= 0", ctx, param)
    return value


def _memory_limit(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--default-memory-limit must be a Docker size Docker itself accepts (at least 6 MiB)."""
    from .units import MIB, ram_in_bytes

    if value is None:
        return None
    try:
        nbytes = ram_in_bytes(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a Docker memory size ({exc}); e.g. 8g, 512m",
                                 ctx, param) from None
    if nbytes < 6 * MIB:
        raise click.BadParameter(
            f"{value!r} is {nbytes} bytes, below Docker's 6 MiB minimum; a unit is missing "
            f"(did you mean {value.strip()}m?)", ctx, param)
    return value


def db_option(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--lock-timeout", type=click.FloatRange(min=0), default=None, metavar="SECONDS", callback=_finite,
                        help="How long to wait for another process's lock, saying so once on "
                             "stderr (default 30, or ANALYZER_LOCK_TIMEOUT).")(func)
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
        except KeyboardInterrupt:
            _interrupted()
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # never a traceback: one line, and how to get the details
            import os
            if isinstance(exc, RuntimeError) and str(exc) == "Query interrupted":
                _interrupted()  # Ctrl-C while DuckDB runs a statement (it rolls back)
            if os.environ.get("ANALYZER_DEBUG"):
                raise
            click.echo(f"Error: unexpected {type(exc).__name__}: {str(exc)[:500]} "
                       f"(set ANALYZER_DEBUG=1 for the traceback, and please report it)", err=True)
            sys.exit(int(ExitCode.ERROR))
    return wrapper


def _interrupted() -> None:
    click.echo("\nError: interrupted; every batch already written is kept, a re-run "
               "completes the rest", err=True)
    sys.exit(int(ExitCode.INTERRUPTED))


def warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


def _engine_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--engine / --ray-address are kept in ctx.meta (the commands' signatures stay as they are);
    `engine_reader` turns them into the ingest's BatchReader. --engine ray without Ray installed
    is a usage error said in one line, before anything is opened."""
    ctx.meta[f"analyzer.{param.name}"] = value
    if param.name == "engine" and value == "ray":
        from .ingest.ray_engine import ray_missing_message

        problem = ray_missing_message()
        if problem:
            click.echo(f"Error: {problem}", err=True)
            ctx.exit(int(ExitCode.USAGE))
    return value


def engine_reader() -> Any:
    """The BatchReader chosen by --engine (local unless `--engine ray`; Ray is imported only then)."""
    meta = click.get_current_context(silent=True)
    if meta is None or meta.meta.get("analyzer.engine") != "ray":
        from .ingest.pipeline import read_locally
        return read_locally
    from .ingest.ray_engine import ray_reader
    return ray_reader(meta.meta.get("analyzer.ray_address"))


def ingest_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """ROOTS and the options of `ingest`, shared by `run`."""
    for option in reversed([
        click.argument("roots", nargs=-1, required=True, type=click.Path(file_okay=False, exists=True)),
        db_option,
        click.option("--study", default=None, help="Study name for generic trials that name none."),
        click.option("--config", "config", default=None, type=click.Path(dir_okay=False, exists=True),
                     help="A Noodle 2 study YAML to apply (memory limit, trial timeout)."),
        click.option("--default-memory-limit", default=None, metavar="SIZE", callback=_memory_limit,
                     help="Memory limit to assume where no artifact records one, Docker syntax (8g)."),
        click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
                     expose_value=False, callback=_engine_option,
                     help="Who reads the trials: this process, or Ray tasks on a cluster (pip install "
                          "'analyzer[ray]'); the store is written here either way."),
        click.option("--ray-address", default=None, metavar="ADDRESS", expose_value=False,
                     callback=_engine_option,
                     help="With --engine ray: the cluster (auto, ray://host:10001; default RAY_ADDRESS, "
                          "else a local Ray)."),
    ]):
        func = option(func)
    return func


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="analyzer")
def main() -> None:
    """Post-mortem analysis of finished OpenROAD / Noodle 2 studies, in one DuckDB file.

    Example (ingest, classify and report the shipped sample study, then ask SQL):

    \b
        analyzer run sample_logs --default-memory-limit 8g
        analyzer query "select failure_type, count(*) from failures group by 1"

    Tab completion (bash; zsh and fish in the README):

    \b
        eval "$(_ANALYZER_COMPLETE=bash_source analyzer)"

    Exit codes: 0 ok, 1 error, 2 bad flags or values, 3 store locked, 4 store missing,
    corrupt or of another schema, 5 ingest --strict problems, 6 run --fail-on matched.
    """


@main.command()
@ingest_options
@click.option("--strict", is_flag=True, help=f"Exit {int(ExitCode.INGEST_PROBLEMS)} if any file could not be read.")
@quiet_option
@handle_errors
def ingest(roots: tuple[str, ...], db: str | None, lock_timeout: float | None, study: str | None,
           config: str | None, default_memory_limit: str | None, strict: bool, quiet: bool) -> None:
    """Find every trial under ROOTS and load it into the store.

    Example:

    \b
        analyzer ingest sample_logs --db nightly.duckdb --default-memory-limit 8g
    """
    report = run_ingest(list(roots), db, lock_timeout, study, config, default_memory_limit, quiet)
    if strict and report.errors_standing:
        raise IngestProblems(f"{report.errors_standing} artifact problem(s) recorded for these roots; "
                             f"see `analyzer query \"select * from ingest_errors\"`")


def run_ingest(roots: list[str], db: str | None, lock_timeout: float | None, study: str | None,
               config: str | None, default_memory_limit: str | None, quiet: bool):
    from .ingest import ParseError
    from .ingest.pipeline import IngestOptions
    from .ingest.pipeline import ingest as do_ingest

    opts = IngestOptions(study=study, config=config, default_memory_limit=default_memory_limit,
                         progress=not quiet and sys.stderr.isatty())
    try:
        with open_store(db, lock_timeout=lock_timeout) as store:
            report = do_ingest(store, roots, opts, warn, reader=engine_reader())  # -q never silences warnings
    except ParseError as exc:
        raise AnalyzerError(exc.problem) from exc
    empty = [root for root, n in report.trials_per_root.items() if n == 0]
    if empty:
        from .errors import NoTrialsFound
        others = (f"; the {report.trials_found} trial(s) under the other root(s) were ingested"
                  if len(report.trials_per_root) > 1 else "")
        raise NoTrialsFound(
            f"{empty[0]}: no trial found (a trial folder holds trial_summary.json, or exit_code / "
            f"rc / returncode){others}")
    if not quiet:
        click.echo(
            f"ingest: {report.trials_found} trials found, {report.trials_parsed} read, "
            f"{report.trials_skipped} unchanged, {report.crashed_before_dir} listed only in "
            f"study_summary.json; {report.errors} artifact problem(s) met, "
            f"{report.errors_standing} recorded for these roots; "
            f"{report.log_bytes / 1e6:.1f} MB of logs; store {db or default_db_path()}", err=True)
    return report


def rules_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--rules", "rules_file", default=None, type=click.Path(dir_okay=False, exists=True),
                        help="A rules file adding to or overriding the shipped rules.")(func)


def oom_risk_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """Target share of runs under-provisioned by the memory recommendations (analyzer/recommend.py)."""
    return click.option("--oom-risk", type=click.FloatRange(0.0, 0.5, min_open=True, max_open=True),
                        default=None, metavar="SHARE",
                        help="Target share of runs the recommended memory limits may leave "
                             "under-provisioned (default 0.02 = 2 %).")(func)


@main.command()
@db_option
@rules_option
@oom_risk_option
@quiet_option
@handle_errors
def classify(db: str | None, lock_timeout: float | None, rules_file: str | None, oom_risk: float | None,
             quiet: bool) -> None:
    """(Re)classify every trial in the store from the store alone.

    Example (with site rules added to the shipped ones):

    \b
        analyzer classify --db nightly.duckdb --rules site.toml
    """
    run_classify(db, lock_timeout, rules_file, quiet, oom_risk)


def run_classify(db: str | None, lock_timeout: float | None, rules_file: str | None, quiet: bool,
                 oom_risk: float | None = None):
    from .classify import classify_store
    from .rules import load_rules

    rules = load_rules(rules_file)
    with open_store(db, lock_timeout=lock_timeout, create=False) as store:
        result = classify_store(store, rules, oom_risk)
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
@rules_option
@quiet_option
@handle_errors
def report(db: str | None, lock_timeout: float | None, studies: tuple[str, ...], since: Any, out: str,
           rules_file: str | None, quiet: bool) -> None:
    """Write one self-contained HTML post-mortem report from the store.

    --out never replaces the store or a file that is not HTML; the file is written to a
    temporary name and renamed, so a failed write leaves the previous report intact.

    Example:

    \b
        analyzer report --db nightly.duckdb --since 2026-11-27 --out reports/today.html
    """
    run_report(db, lock_timeout, list(studies), since, out, quiet, rules_file)


def run_report(db: str | None, lock_timeout: float | None, studies: list[str], since: Any, out: str,
               quiet: bool, rules_file: str | None = None) -> None:
    from .outfiles import check_report_out, write_text_atomic
    from .report import build_context, render

    check_report_out(out, db)
    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        ctx = build_context(store, studies or None, since, rules_file)
    write_text_atomic(out, render(ctx))
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
@click.option("--notify", "notify_url", default=None, metavar="URL",
              help="POST a JSON summary of what is new to this Slack/Mattermost incoming webhook "
                   "(a failed post only warns).")
@click.option("--notify-command", default=None, metavar="CMD",
              help="Pipe the same JSON summary to CMD's stdin (run by the shell; a failure only warns).")
@click.option("--summary-json", default=None, metavar="FILE", type=click.Path(dir_okay=False),
              help="Write the same JSON summary to FILE.")
@oom_risk_option
@quiet_option
@handle_errors
def run(roots: tuple[str, ...], db: str | None, lock_timeout: float | None, study: str | None,
        config: str | None, default_memory_limit: str | None, out: str, rules_file: str | None,
        fail_on: str | None, notify_url: str | None, notify_command: str | None,
        summary_json: str | None, oom_risk: float | None, quiet: bool) -> None:
    """Ingest ROOTS, classify, and write the report: the nightly job in one command.

    Example (a cron line that fails only on new out-of-memory trials):

    \b
        analyzer run /data/studies --db nightly.duckdb --out report.html --fail-on oom -q
    """
    from .gate import fail_on_matches, summary_line
    from .outfiles import check_report_out

    check_report_out(out, db)  # before any work: --out must not be the store
    ingested = run_ingest(list(roots), db, lock_timeout, study, config, default_memory_limit, quiet)
    run_classify(db, lock_timeout, rules_file, quiet, oom_risk)
    run_report(db, lock_timeout, [], None, out, quiet, rules_file)
    if notify_url or notify_command or summary_json:
        run_notify(db, lock_timeout, ingested.new_trial_ids, out, notify_url, notify_command, summary_json, quiet)
    if fail_on:
        with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
            matches = fail_on_matches(store, fail_on, ingested.new_trial_ids)
        if matches.height:
            raise FailOnMatched(summary_line(fail_on, matches, len(ingested.new_trial_ids)))


def run_notify(db: str | None, lock_timeout: float | None, new_trial_ids: list[str], report_out: str,
               url: str | None, command: str | None, summary_json: str | None, quiet: bool) -> None:
    """Build the run summary and deliver it; every delivery problem is a warning, never an exit code."""
    from .notify import build_summary, post_webhook, run_command, write_summary

    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        payload = build_summary(store, new_trial_ids, report_out)
    for name, deliver in (("summary-json", summary_json and (lambda: write_summary(summary_json, payload))),
                          ("notify", url and (lambda: post_webhook(url, payload))),
                          ("notify-command", command and (lambda: run_command(command, payload)))):
        if not deliver:
            continue
        problem = deliver()
        if problem:
            warn(f"{problem}; the run goes on")
        elif not quiet:
            click.echo(f"{name}: summary delivered ({payload['analyzer']['new_trials']} new trials, "
                       f"{payload['analyzer']['new_failures']} failed, "
                       f"{len(payload['analyzer']['metric_regressions'])} metric regression(s))", err=True)


@main.command()
@db_option
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv", "sqlite"]), required=True,
              help="parquet/csv: one file per view in the --out folder; sqlite: one database file.")
@click.option("--out", required=True, type=click.Path(), help="Folder (parquet, csv) or file (sqlite).")
@quiet_option
@handle_errors
def export(db: str | None, lock_timeout: float | None, fmt: str, out: str, quiet: bool) -> None:
    """Export every public view for other tools.

    --out never replaces the store or an existing file of another kind; files are written to
    a temporary name and renamed. CSV cells starting with = + - @ (spreadsheet formulas) get a
    leading ' ; lists become JSON text.

    Example:

    \b
        analyzer export --format sqlite --out views.sqlite
        analyzer export --format parquet --out views/
    """
    from .export import export_views

    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        counts = export_views(store, fmt, out)
    if not quiet:
        click.echo(f"export: {sum(counts.values())} rows from {len(counts)} views to {out}", err=True)


@main.group()
def rules() -> None:
    """Inspect and validate classification rules files.

    Example:

    \b
        analyzer rules check site.toml
    """


@rules.command("check")
@click.argument("path", type=click.Path(dir_okay=False, exists=True))
@handle_errors
def rules_check(path: str) -> None:
    """Validate a rules file; each problem names the rule and the field.

    Example:

    \b
        analyzer rules check site.toml
    """
    from .rules import check_rules, load_rules

    problems = check_rules(path)
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        sys.exit(int(ExitCode.ERROR))
    ruleset = load_rules(path)
    click.echo(f"{path}: ok ({len(ruleset.rules)} rules after merging, version {ruleset.version})")


def _complete_query_name(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion of `query --name`: the named queries with their summaries."""
    from click.shell_completion import CompletionItem

    from .queries import list_queries

    return [CompletionItem(n, help=summary) for n, summary in list_queries() if n.startswith(incomplete)]


@rules.command("test")
@click.argument("path", type=click.Path(dir_okay=False, exists=True))
@db_option
@format_option
@handle_errors
def rules_test_cmd(path: str, db: str | None, lock_timeout: float | None, fmt: str) -> None:
    """Show which stored trials FILE would change (old -> new), writing nothing; exit 1 when one
    of its rules fires on trials that succeeded.

    Example:

    \b
        analyzer rules test my_rules.toml --db nightly.duckdb
    """
    from .rules import check_rules
    from .rulestest import rules_test

    problems = check_rules(path)
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        sys.exit(int(ExitCode.ERROR))
    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        result = rules_test(store, path)
    write_frame(result.changes, fmt)
    moves = ", ".join(f"{r['old']} -> {r['new']}: {r['trials']}" for r in result.transitions.iter_rows(named=True))
    click.echo(f"rules test: {result.changes.height} of {result.trials} trials would change verdict"
               f"{' (' + moves + ')' if moves else ''}", err=True)
    for r in result.on_success.iter_rows(named=True):
        click.echo(f"{path}: rule {r['rule']} fires on {r['trials']} successful trial(s) ({r['lines']} lines), "
                   f"e.g. {r['example_trial']}: {r['example_line']!r}; narrow its pattern", err=True)
    if result.on_success.height:
        sys.exit(int(ExitCode.ERROR))


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
    trial_id or a unique suffix of one. With --grep, exit 1 when no line matches.

    Example (the out-of-memory lines of one trial, numbered):

    \b
        analyzer logs orfs_nightly_generic/route_oom_confirmed --grep 'memory|killed' -i
    """
    from .logstore import show_log

    out = sys.stdout.buffer
    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        n = show_log(store, trial, list(streams), pattern, ignore_case, out.write)
    out.flush()
    if pattern is not None and n == 0:
        sys.exit(int(ExitCode.ERROR))


@main.command()
@click.option("--since", default=None, metavar="TIME", help="Only trials started at or after TIME (ISO date).")
@click.option("--emit-rules", "emit_rules", default=None, type=click.Path(dir_okay=False),
              help="Write a rule stub per signature to this TOML file, to edit.")
@db_option
@format_option
@handle_errors
def unknowns(since: str | None, emit_rules: str | None, db: str | None, lock_timeout: float | None,
             fmt: str) -> None:
    """Failed trials only a fallback explained, grouped by a masked signature of their decisive line.

    Example (the top signatures, and a rule stub per signature to edit):

    \b
        analyzer unknowns --db nightly.duckdb --emit-rules new_rules.toml
    """
    from .unknowns import rule_stubs, unknown_signatures

    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        frame = unknown_signatures(store, since)
    write_frame(frame, fmt)
    click.echo(f"unknowns: {int(frame['trials'].sum() or 0)} trial(s) in {frame.height} signature(s)", err=True)
    if emit_rules:
        Path(emit_rules).write_text(rule_stubs(frame), encoding="utf-8")
        click.echo(f"unknowns: wrote {emit_rules}; check it with `analyzer rules check {emit_rules}`", err=True)


@main.command()
@click.argument("sql", required=False, metavar="[SQL | -]")
@click.option("--file", "sql_file", type=click.File("r"), help="Read the SQL from a file (- for stdin).")
@click.option("--name", default=None, metavar="NAME", shell_complete=_complete_query_name,
              help="Run a named query from sql/queries (see --list).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Parameter of a named query.")
@click.option("--list", "list_names", is_flag=True, help="List the named queries.")
@db_option
@format_option
@click.option("--width", type=click.IntRange(min=10), default=None, metavar="COLUMNS",
              help="Fit --format table in this many columns (default: the terminal's width on a "
                   "terminal, unlimited when piped).")
@click.option("--no-truncate", is_flag=True, help="--format table: full cell text, however wide.")
@click.option("--allow-files", "allow_files", multiple=True, metavar="PATH",
              type=click.Path(exists=True),
              help="Let the SQL read files under this folder (or this file); repeatable. Nothing "
                   "else outside the store is reachable, and nothing is ever written.")
@handle_errors
def query(sql: str | None, sql_file: Any, name: str | None, params: tuple[str, ...], list_names: bool,
          db: str | None, lock_timeout: float | None, fmt: str, width: int | None, no_truncate: bool,
          allow_files: tuple[str, ...]) -> None:
    """Run SQL on a read-only, sandboxed connection to the store; results go to stdout.

    The SQL comes from the SQL argument, from stdin (SQL omitted or `-`), from --file, or is
    a named query (--name). Only reading statements run (SELECT, EXPLAIN, PRAGMA, CALL): no
    COPY ... TO, EXPORT, ATTACH, INSTALL/LOAD, SET, no file or network access (see
    --allow-files), no extension loading.

    Examples:

    \b
        analyzer query "select study, count(*) from trials group by 1"
        echo "select * from failures limit 5" | analyzer query --format markdown
        analyzer query - --format csv < question.sql > answer.csv
        analyzer query --name near_limit --param ratio=0.95
        analyzer query --allow-files /data/extra "select * from '/data/extra/owners.csv'"
    """
    import os

    from .output import write_result
    from .queries import list_queries, run_query

    if list_names:
        for qname, summary in list_queries():
            click.echo(f"{qname}\t{summary}")
        return
    text = _query_text(sql, sql_file, name)
    if not text.strip() and not name:
        raise click.UsageError("no SQL: give SQL as an argument, on stdin (`echo SQL | analyzer query`), "
                               "with --file F, or a named query with --name NAME")
    with open_store(db, sandbox=True, lock_timeout=lock_timeout, allow_files=allow_files) as store:
        result = run_query(store, text or None, name, dict(_split_param(p) for p in params))
    if no_truncate:
        width = None
    elif width is None and fmt == "table" and sys.stdout.isatty():
        import shutil
        width = shutil.get_terminal_size().columns
    try:
        notes = write_result(result, fmt, sys.stdout, width)
        sys.stdout.flush()
    except BrokenPipeError:  # `analyzer query ... | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    except OSError as exc:
        raise AnalyzerError(f"could not write the result to stdout: {exc.strerror or exc}") from exc
    for note in notes:
        click.echo(note, err=True)


def _query_text(sql: str | None, sql_file: Any, name: str | None) -> str:
    """The SQL text from exactly one source; two sources are a usage error naming both."""
    sources = [label for label, given in (("SQL argument", sql is not None), ("--file", sql_file is not None),
                                          ("--name", name is not None)) if given]
    if len(sources) > 1:
        raise click.UsageError(f"{' and '.join(sources)} both given: a query comes from one of them "
                               f"(--name runs the named query's own SQL)")
    if sql_file is not None:
        return sql_file.read()
    if sql == "-" or (sql is None and name is None and not sys.stdin.isatty()):
        return sys.stdin.read()
    return sql or ""


@main.command()
@db_option
@format_option
@oom_risk_option
@click.option("--no-curve", is_flag=True, help="Only the policies and the hindsight factors.")
@quiet_option
@handle_errors
def backtest(db: str | None, lock_timeout: float | None, fmt: str, oom_risk: float | None, no_curve: bool,
             quiet: bool) -> None:
    """Replay the store's memory history in time order: analyzer's recommended limits against
    fixed-factor rules (Noodle 2's previous peak x 1.5, history max x k, P90 x k).

    Example (judged at a 1 % out-of-memory target, without the risk/slack curve):

    \b
        analyzer backtest --db history.duckdb --oom-risk 0.01 --no-curve
    """
    from .recommend import backtest as run_backtest
    from .recommend import verdict

    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        recorded = store.scalar("SELECT max(value) FROM meta WHERE key = 'oom_risk'")
        trials = store.frame_file("recommend_trials")
    risk = oom_risk if oom_risk is not None else float(recorded or 0.02)
    result = run_backtest(trials.lazy(), risk, curve=not no_curve)
    write_frame(result, fmt)
    summary = verdict(result)
    if not quiet:
        click.echo(f"backtest: {trials.height} trials, target {risk:.2%}; "
                   + (summary.line() if summary else "no run has earlier history"), err=True)


def _split_param(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"{text!r} is not KEY=VALUE", param_hint="--param")
    return key, value


if __name__ == "__main__":
    main()
