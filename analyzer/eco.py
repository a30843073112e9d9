"""ECO name -> ECO class, from the rules file's `[eco_classes]` table."""

from __future__ import annotations

import tomllib
from functools import lru_cache

from .resources import rules_path


@lru_cache(maxsize=1)
def default_eco_classes() -> dict[str, str]:
    with open(rules_path(), "rb") as fh:
        return dict(tomllib.load(fh).get("eco_classes", {}))
