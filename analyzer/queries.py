"""Ad-hoc SQL and the named questions in sql/queries/ (each file starts with `-- summary`)."""

from __future__ import annotations

import re

import polars as pl

from .errors import QueryError
from .resources import resource_dir
from .store import Store, sql_text


def list_queries() -> list[tuple[str, str]]:
    out = []
    for path in sorted((resource_dir("sql") / "queries").glob("*.sql")):
        first = path.read_text(encoding="utf-8").splitlines()[:1]
        summary = first[0].lstrip("- ").strip() if first and first[0].startswith("--") else ""
        out.append((path.stem, summary))
    return out


def query_params(text: str) -> list[str]:
    """`$name` parameters a named query uses."""
    return sorted(set(re.findall(r"\$([A-Za-z_]\w*)", text)))


def run_query(store: Store, sql: str | None, name: str | None, params: dict[str, str]) -> pl.DataFrame:
    if name:
        names = [n for n, _ in list_queries()]
        if name not in names:
            raise QueryError(f"no named query {name!r}; known: {', '.join(names)}")
        text = sql_text(f"queries/{name}")
        wanted = query_params(text)
        defaults = {k: v.strip() for k, v in re.findall(r"-- default (\w+)=(.*)", text)}
        missing = [p for p in wanted if p not in params and p not in defaults]
        values = {p: params.get(p, defaults.get(p)) for p in wanted}
        unknown = set(params) - set(wanted)
        if unknown:
            raise QueryError(f"query {name} takes {', '.join(wanted) or 'no parameters'}; "
                             f"unknown: {', '.join(sorted(unknown))}")
        if missing:
            raise QueryError(f"query {name} needs --param {missing[0]}=VALUE")
        return store.frame(text, values or None, origin=f"sql/queries/{name}.sql")
    if params:
        return store.frame(sql or "", params, origin="query")
    return store.frame(sql or "", origin="query")
