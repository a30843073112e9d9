"""The `analyzer` command: a thin click layer. Each command parses flags, calls one job
(jobs.py) and prints; the group turns every error into `Error: ...` and a documented exit code
(errors.py), in one place (AnalyzerGroup), so no command can forget it.

Only click and the light modules load at start-up: `analyzer --help` imports no Polars or
DuckDB; each command imports what it uses."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import IO, Any, NoReturn

import click

from . import __version__
from .choices import EXPORT_FORMATS, FAIL_ON, OUTPUT_FORMATS, STREAMS
from .errors import AnalyzerError, ExitCode


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
    """--db and --lock-timeout, shared by every command that opens the store."""
    func = click.option("--lock-timeout", type=click.FloatRange(min=0), default=None, metavar="SECONDS", callback=_finite,
                        help="How long to wait for another process's lock, saying so once on "
                             "stderr (default 30, or ANALYZER_LOCK_TIMEOUT).")(func)
    return click.option("--db", "db", default=None, metavar="PATH",
                        help="The DuckDB store (default ./analyzer.duckdb or ANALYZER_DB).")(func)


def format_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """--format of the commands that print a table of data (choices.OUTPUT_FORMATS)."""
    return click.option("--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default="table",
                        show_default=True, help="Output format (data goes to stdout only).")(func)


def quiet_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """--quiet / -q: no progress or summary lines (warnings still go to stderr)."""
    return click.option("--quiet", "-q", is_flag=True, help="No progress or summary on stderr.")(func)


class AnalyzerGroup(click.Group):
    """The `analyzer` group: the one place where an error becomes a message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; AnalyzerError -> `Error: ...` + its exit code, anything else -> one line."""
        try:
            return super().invoke(ctx)
        except AnalyzerError as exc:
            click.echo(f"Error: {exc}", err=True)
            raise click.exceptions.Exit(int(exc.exit_code)) from None
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
            raise click.exceptions.Exit(int(ExitCode.ERROR)) from None


def _interrupted() -> NoReturn:
    click.echo("\nError: interrupted; every batch already written is kept, a re-run "
               "completes the rest", err=True)
    raise click.exceptions.Exit(int(ExitCode.INTERRUPTED))


def _fail(code: ExitCode = ExitCode.ERROR) -> NoReturn:
    """Exit with `code` after the command printed its own account (no `Error:` line)."""
    raise click.exceptions.Exit(int(code))


def say(message: str) -> None:
    """A step's summary line, on stderr."""
    click.echo(message, err=True)


def warn(message: str) -> None:
    """A problem the command works around, on stderr (never silenced by -q)."""
    click.echo(f"warning: {message}", err=True)


def _progress(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


def ingest_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """ROOTS and the options of `ingest`, shared by `run`."""
    options: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
        click.argument("roots", nargs=-1, required=True, type=click.Path(file_okay=False, exists=True)),
        db_option,
        click.option("--study", default=None, help="Study name for generic trials that name none."),
        click.option("--config", "config", default=None, type=click.Path(dir_okay=False, exists=True),
                     help="A Noodle 2 study YAML to apply (memory limit, trial timeout)."),
        click.option("--default-memory-limit", default=None, metavar="SIZE", callback=_memory_limit,
                     help="Memory limit to assume where no artifact records one, Docker syntax (8g)."),
        click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
                     help="Who reads the trials: this process, or Ray tasks on a cluster (pip install "
                          "'analyzer[ray]'); the store is written here either way."),
        click.option("--ray-address", default=None, metavar="ADDRESS",
                     help="With --engine ray: the cluster (auto, ray://host:10001; default RAY_ADDRESS, "
                          "else a local Ray)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.group(cls=AnalyzerGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
def ingest(roots: tuple[str, ...], db: str | None, lock_timeout: float | None, study: str | None,
           config: str | None, default_memory_limit: str | None, engine: str, ray_address: str | None,
           strict: bool, quiet: bool) -> None:
    """Find every trial under ROOTS and load it into the store.

    Example:

    \b
        analyzer ingest sample_logs --db nightly.duckdb --default-memory-limit 8g
    """
    from . import jobs

    jobs.ingest(list(roots), db=db, lock_timeout=lock_timeout, study=study, config=config,
                default_memory_limit=default_memory_limit, engine=engine, ray_address=ray_address,
                strict=strict, progress=_progress(quiet),
                say=None if quiet else say, warn=warn)  # -q never silences warnings


def rules_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """--rules FILE of classify and run."""
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
def classify(db: str | None, lock_timeout: float | None, rules_file: str | None, oom_risk: float | None,
             quiet: bool) -> None:
    """(Re)classify every trial in the store from the store alone.

    Example (with site rules added to the shipped ones):

    \b
        analyzer classify --db nightly.duckdb --rules site.toml
    """
    from . import jobs

    jobs.classify(db=db, lock_timeout=lock_timeout, rules_file=rules_file, oom_risk=oom_risk,
                  say=None if quiet else say)


def report_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--study, --since and --out of `report`."""
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
def report(db: str | None, lock_timeout: float | None, studies: tuple[str, ...], since: Any, out: str,
           rules_file: str | None, quiet: bool) -> None:
    """Write one self-contained HTML post-mortem report from the store.

    --out never replaces the store or a file that is not HTML; the file is written to a
    temporary name and renamed, so a failed write leaves the previous report intact.

    Example:

    \b
        analyzer report --db nightly.duckdb --since 2026-11-27 --out reports/today.html
    """
    from . import jobs

    jobs.report(db=db, lock_timeout=lock_timeout, studies=list(studies), since=since, out=out,
                rules_file=rules_file, say=None if quiet else say)


@main.command()
@ingest_options
@click.option("--out", default="report.html", show_default=True, type=click.Path(dir_okay=False),
              help="The HTML report to write.")
@rules_option
@click.option("--fail-on", type=click.Choice(FAIL_ON), default=None,
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
def run(roots: tuple[str, ...], db: str | None, lock_timeout: float | None, study: str | None,
        config: str | None, default_memory_limit: str | None, engine: str, ray_address: str | None,
        out: str, rules_file: str | None, fail_on: str | None, notify_url: str | None, notify_command: str | None,
        summary_json: str | None, oom_risk: float | None, quiet: bool) -> None:
    """Ingest ROOTS, classify, and write the report: the nightly job in one command.

    Example (a cron line that fails only on new out-of-memory trials):

    \b
        analyzer run /data/studies --db nightly.duckdb --out report.html --fail-on oom -q
    """
    from . import jobs

    jobs.run(list(roots), db=db, lock_timeout=lock_timeout, study=study, config=config,
             default_memory_limit=default_memory_limit, engine=engine, ray_address=ray_address, out=out,
             rules_file=rules_file, fail_on=fail_on,
             notify_url=notify_url, notify_command=notify_command, summary_json=summary_json,
             oom_risk=oom_risk, progress=_progress(quiet), say=None if quiet else say, warn=warn)


@main.command()
@db_option
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), required=True,
              help="parquet/csv: one file per view in the --out folder; sqlite: one database file.")
@click.option("--out", required=True, type=click.Path(), help="Folder (parquet, csv) or file (sqlite).")
@quiet_option
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
    from . import jobs

    result = jobs.export(fmt=fmt, out=out, db=db, lock_timeout=lock_timeout)
    if not quiet:
        say(result.summary())


@main.group()
def rules() -> None:
    """Inspect and validate classification rules files.

    Example:

    \b
        analyzer rules check site.toml
    """


@rules.command("check")
@click.argument("path", type=click.Path(dir_okay=False, exists=True))
def rules_check(path: str) -> None:
    """Validate a rules file; each problem names the rule and the field.

    Example:

    \b
        analyzer rules check site.toml
    """
    from . import jobs

    checked = jobs.rules_check(path)
    for problem in checked.problems:
        click.echo(problem, err=True)
    if checked.problems:
        _fail()
    click.echo(checked.summary())


def _complete_query_name(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion of `query --name`: the named queries with their summaries."""
    from click.shell_completion import CompletionItem

    from .queries import list_queries

    return [CompletionItem(n, help=summary) for n, summary in list_queries() if n.startswith(incomplete)]


@rules.command("test")
@click.argument("path", type=click.Path(dir_okay=False, exists=True))
@db_option
@format_option
def rules_test_cmd(path: str, db: str | None, lock_timeout: float | None, fmt: str) -> None:
    """Show which stored trials FILE would change (old -> new), writing nothing; exit 1 when one
    of its rules fires on trials that succeeded.

    Example:

    \b
        analyzer rules test my_rules.toml --db nightly.duckdb
    """
    from . import jobs
    from .output import write_frame

    tested = jobs.rules_test(path, db=db, lock_timeout=lock_timeout)
    for problem in tested.problems:
        click.echo(problem, err=True)
    if tested.test is None:
        _fail()
    write_frame(tested.test.changes, fmt)
    for line in tested.summary():
        click.echo(line, err=True)
    if tested.test.on_success.height:
        _fail()


@main.command("logs")
@click.argument("trial")
@click.option("--stream", "streams", multiple=True, type=click.Choice(STREAMS),
              help="Only this stream (repeat for several; default: every stored one).")
@click.option("--grep", "pattern", default=None, metavar="REGEX",
              help="Only lines matching this regex (Rust syntax, like rules), as stream:line: text.")
@click.option("--ignore-case", "-i", is_flag=True, help="Case-insensitive --grep.")
@db_option
def logs(trial: str, streams: tuple[str, ...], pattern: str | None, ignore_case: bool, db: str | None,
         lock_timeout: float | None) -> None:
    """Print a trial's stored log from the store (the artifacts may be deleted). TRIAL is a
    trial_id or a unique suffix of one. With --grep, exit 1 when no line matches.

    Example (the out-of-memory lines of one trial, numbered):

    \b
        analyzer logs orfs_nightly_generic/route_oom_confirmed --grep 'memory|killed' -i
    """
    from . import jobs

    out = sys.stdout.buffer
    n = jobs.logs(trial, streams=list(streams), pattern=pattern, ignore_case=ignore_case, write=out.write,
                  db=db, lock_timeout=lock_timeout)
    out.flush()
    if pattern is not None and n == 0:
        _fail()


@main.command()
@click.option("--since", default=None, metavar="TIME", help="Only trials started at or after TIME (ISO date).")
@click.option("--emit-rules", "emit_rules", default=None, type=click.Path(dir_okay=False),
              help="Write a rule stub per signature to this TOML file, to edit.")
@db_option
@format_option
def unknowns(since: str | None, emit_rules: str | None, db: str | None, lock_timeout: float | None,
             fmt: str) -> None:
    """Failed trials only a fallback explained, grouped by a masked signature of their decisive line.

    Example (the top signatures, and a rule stub per signature to edit):

    \b
        analyzer unknowns --db nightly.duckdb --emit-rules new_rules.toml
    """
    from . import jobs
    from .output import write_frame

    result = jobs.unknowns(db=db, lock_timeout=lock_timeout, since=since)
    write_frame(result.frame, fmt)
    say(result.summary())
    if emit_rules:
        say(jobs.write_rule_stubs(result, emit_rules))


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

    from . import jobs
    from .output import write_result
    from .queries import list_queries

    if list_names:
        for qname, summary in list_queries():
            click.echo(f"{qname}\t{summary}")
        return
    text = _query_text(sql, sql_file, name)
    if not text.strip() and not name:
        raise click.UsageError("no SQL: give SQL as an argument, on stdin (`echo SQL | analyzer query`), "
                               "with --file F, or a named query with --name NAME")
    result = jobs.query(text or None, name=name, params=dict(_split_param(p) for p in params), db=db,
                        lock_timeout=lock_timeout, allow_files=allow_files)
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


def _query_text(sql: str | None, sql_file: IO[str] | None, name: str | None) -> str:
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
def backtest(db: str | None, lock_timeout: float | None, fmt: str, oom_risk: float | None, no_curve: bool,
             quiet: bool) -> None:
    """Replay the store's memory history in time order: analyzer's recommended limits against
    fixed-factor rules (Noodle 2's previous peak x 1.5, history max x k, P90 x k).

    Example (judged at a 1 % out-of-memory target, without the risk/slack curve):

    \b
        analyzer backtest --db history.duckdb --oom-risk 0.01 --no-curve
    """
    from . import jobs
    from .output import write_frame

    result = jobs.backtest(db=db, lock_timeout=lock_timeout, oom_risk=oom_risk, curve=not no_curve)
    write_frame(result.frame, fmt)
    if not quiet:
        say(result.summary())


def _split_param(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"{text!r} is not KEY=VALUE", param_hint="--param")
    return key, value


if __name__ == "__main__":
    main()
