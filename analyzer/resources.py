"""Where the shipped SQL, templates and rules live: inside the wheel, or beside a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """`sql` or `templates`: installed wheels carry them inside the package, a checkout at top level."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"analyzer resource directory {name!r} is missing from the install")


def rules_path() -> Path:
    return _PACKAGE / "rules" / "default.toml"
