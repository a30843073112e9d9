"""Trial facts files of generic trials (`trial.json`, `config.yaml`, ...) and Noodle 2 study YAML."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..units import MIB, ram_in_bytes
from . import ParseError
from .safe_io import loads_json, sub_dict

TRIAL_CONFIG_NAMES = ("trial.json", "trial.yaml", "config.json", "config.yaml", "config.toml")


@lru_cache(maxsize=1)
def _no_alias_loader() -> type[Any]:
    """YAML's safe loader without aliases: `*ref` can expand a 351-byte file into billions of
    nodes (an "alias bomb"); study and trial files never need them, so they are refused. Built
    on first use: PyYAML is imported only when a YAML file is read (not by a no-op re-ingest)."""
    import yaml

    class NoAliasLoader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event: Any = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in types-PyYAML
                raise yaml.composer.ComposerError(
                    None, None, "aliases (*name) are not accepted in analyzer inputs", event.start_mark)
            return super().compose_node(parent, index)

    return NoAliasLoader


def load_yaml(text: str) -> Any:
    """One YAML document, aliases refused (see _no_alias_loader)."""
    import yaml

    return yaml.load(text, Loader=_no_alias_loader())


def load_mapping(path: Path, text: str) -> dict[str, Any]:
    """JSON, YAML or TOML by extension; the top level must be a mapping."""
    import tomllib  # (here: discovery imports this module for its file names only)

    import yaml

    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            doc = loads_json(text)
        elif suffix == ".toml":
            doc = tomllib.loads(text)
        else:
            doc = load_yaml(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ParseError(f"not valid TOML: {exc}") from exc
    except RecursionError as exc:
        raise ParseError("nested too deeply") from exc
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise ParseError(f"unreadable value: {exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ParseError(f"not valid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(doc, dict):
        raise ParseError("top level is not a mapping")
    return doc


def memory_limit_mb(value: Any, where: str) -> float | None:
    """A limit written as Docker's `--memory` string (`8g`) or a number of bytes."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ParseError(f"{where}: memory limit {value!r} is not a size")
    if isinstance(value, (int, float)):
        try:
            return float(value) / MIB if value > 0 else None
        except OverflowError:
            raise ParseError(f"{where}: memory limit {value!r} is out of range") from None
    try:
        nbytes = ram_in_bytes(str(value))
    except ValueError as exc:
        raise ParseError(f"{where}: memory limit {value!r} is not a Docker size ({exc})",
                         "the limit was taken from the next source") from exc
    return nbytes / MIB if nbytes > 0 else None


_MEMORY_KEYS = ("memory_limit", "mem_limit", "memory")


def find_memory_setting(doc: Any, depth: int = 0) -> Any:
    """First `memory_limit` / `mem_limit` / `memory` value with a scalar value, breadth first."""
    if not isinstance(doc, dict) or depth > 4:
        return None
    for key in _MEMORY_KEYS:
        if key in doc and isinstance(doc[key], (str, int, float)) and not isinstance(doc[key], bool):
            return doc[key]
    for value in doc.values():
        found = find_memory_setting(value, depth + 1)
        if found is not None:
            return found
    return None


def study_config_facts(doc: dict[str, Any], where: str) -> dict[str, Any]:
    """Name, memory limit and trial timeout of a Noodle 2 study YAML (nested or flat)."""
    study = sub_dict(doc, "study")
    name = study.get("name") or doc.get("name")
    name = name if isinstance(name, str) and name else None
    timeout = None
    stages = doc.get("stages") if isinstance(doc.get("stages"), dict) else study.get("stages")
    if isinstance(stages, dict) and isinstance(stages.get("defaults"), dict):
        timeout = stages["defaults"].get("timeout_seconds")
    return {
        "name": name,
        "memory_limit_mb": memory_limit_mb(find_memory_setting(doc), where),
        "timeout_seconds": timeout if isinstance(timeout, (int, float)) else None,
    }
