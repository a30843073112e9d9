"""`analyzer unknowns`: failed trials no specific rule explained, grouped by a masked signature of
their decisive line (sql/queries/unknown_signatures.sql), and rule stubs to start from."""

from __future__ import annotations

import re

import polars as pl

from .queries import run_query
from .store import Store

_PLACEHOLDERS = {"<NUM>": r"\d+(?:\.\d+)?", "<HEX>": r"[0-9a-fA-Fx]+", "<PATH>": r"\S+", "<URL>": r"\S+",
                 "<STR>": r".+?", "<TIME>": r"[\dT:.Z -]+?"}
_META = re.compile(r"([\\.^$|?*+()\[\]{}])")


def unknown_signatures(store: Store, since: str | None = None) -> pl.DataFrame:
    """One row per signature: trials, studies, first and last seen, an example trial and line."""
    result = run_query(store, None, "unknown_signatures", {"since": since} if since else {})
    return pl.DataFrame(result.rows, schema=result.columns, orient="row", infer_schema_length=None)


def signature_regex(signature: str) -> str:
    """A regex (Rust/Polars syntax) matching every line with this signature."""
    parts = re.split(r"(<NUM>|<HEX>|<PATH>|<URL>|<STR>|<TIME>)", signature)
    out = []
    for part in parts:
        if part in _PLACEHOLDERS:
            out.append(_PLACEHOLDERS[part])
        else:
            out.append(r"\s+".join(_META.sub(r"\\\1", word) for word in part.split(" ")))
    return "".join(out)


def _toml_str(text: str) -> str:
    """A TOML basic string (backslashes, quotes and control characters escaped)."""
    body = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + re.sub(r"[\x00-\x08\x0a-\x1f\x7f]", lambda m: f"\\u{ord(m.group()):04x}", body) + '"'


def rule_stubs(frame: pl.DataFrame, version: str = "unknowns-1") -> str:
    """A rules file with one stub per signature, for a person to name, type and narrow."""
    out = ["# Rule stubs written by `analyzer unknowns --emit-rules`: one per signature that only a",
           "# fallback explained. Set `type` (and the id), narrow `pattern`, then check it with",
           "# `analyzer rules check FILE` and `analyzer rules test FILE` before `classify --rules FILE`.",
           f'version = "{version}"', ""]
    for i, row in enumerate(frame.iter_rows(named=True), 1):
        line = row["example_line"] or ""
        if line == "(no log line)":
            continue
        out += ["[[rules]]", f'id = "unknown_{i:03d}"', 'type = "tool_crash"  # set the failure type',
                "precedence = 90", "case_sensitive = true",
                "description = " + _toml_str(f"{row['trials']} trial(s) in {row['study_names']}; "
                                             f"e.g. {row['example_trial']}"),
                f"pattern = {_toml_str(signature_regex(row['signature']))}",
                f"examples = [{_toml_str(line)}]", ""]
    return "\n".join(out)
