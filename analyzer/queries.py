"""Ad-hoc SQL and the named questions in sql/queries/ (each file starts with `-- summary`)."""

from __future__ import annotations

import re

from .errors import QueryError
from .resources import resource_dir
from .store import QueryResult, Store, sql_text


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


def query_names() -> list[str]:
    """Names for `query --name` (and its shell completion)."""
    return [n for n, _ in list_queries()]


def run_query(store: Store, sql: str | None, name: str | None, params: dict[str, str]) -> QueryResult:
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
        return store.result(text, values or None, origin=f"sql/queries/{name}.sql")
    return store.result(sql or "", params or None, origin="query")
