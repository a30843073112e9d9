"""Size and time strings as Docker and the tools print them."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

MIB = 1 << 20

# Go's strconv.ParseFloat accepts these (no spaces, no underscores, no inf/nan/hex).
_GO_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")


def ram_in_bytes(text: str) -> int:
    """Parse a `--memory` string exactly as the Docker CLI does (go-units v0.5.0 RAMInBytes).

    >>> ram_in_bytes("8g"), ram_in_bytes("1.5g"), ram_in_bytes("512MB"), ram_in_bytes("32.3")
    (8589934592, 1610612736, 536870912, 32)
    """
    sep = max(text.rfind(c) for c in "0123456789. ")
    if sep < 0:
        raise ValueError(f"invalid size: {text!r}")
    if text[sep] == " ":
        number, suffix = text[:sep], text[sep + 1:]
    else:
        number, suffix = text[: sep + 1], text[sep + 1:]
    if not _GO_FLOAT.match(number):
        raise ValueError(f"invalid size: {text!r}")
    size = float(number)
    if size < 0 or size >= 2.0 ** 63:  # also 1e400 (inf): not a size
        raise ValueError(f"invalid size: {text!r}")
    suffix = suffix.lower()
    if len(suffix) > 3:
        raise ValueError(f"invalid suffix: {suffix!r}")
    if suffix in ("", "b"):
        return int(size)
    power = "kmgtp".find(suffix[0])
    if power < 0 or suffix[1:] not in ("", "b", "ib"):
        raise ValueError(f"invalid suffix: {suffix!r}")
    nbytes = size * 1024 ** (power + 1)
    if nbytes >= 2.0 ** 63:
        raise ValueError(f"invalid size: {text!r} is too large")
    return int(nbytes)


# docker stats sizes: `2.352MiB`, `1e+03kB`, `38.21 MiB`, `0 B`.
_STATS_SIZE = re.compile(
    r"(?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?) ?(?P<unit>[kmgtpezy]?i?b)\Z", re.I
)


def stats_size_bytes(text: str) -> float | None:
    """One side of a `docker stats` size pair; None for the `--` placeholder.

    >>> stats_size_bytes("2.352MiB") == 2.352 * 2**20, stats_size_bytes("1e+03kB"), stats_size_bytes("--")
    (True, 1000000.0, None)
    """
    text = text.strip()
    if text in ("--", ""):
        return None
    m = _STATS_SIZE.match(text)
    if not m:
        raise ValueError(f"not a docker stats size: {text!r}")
    unit = m["unit"].lower()
    num = float(m["num"])
    if unit == "b":
        return num
    power = "kmgtpezy".index(unit[0]) + 1
    return num * float(1024 ** power if "i" in unit else 1000 ** power)


_ZERO_TIME = "0001-01-01"
# Times outside these bounds are not times of a finished study: refused, never stored.
MIN_TIME = datetime(1970, 1, 1)
MAX_TIME = datetime(2200, 1, 1)
_EPOCH_MS = 1e11  # a unix time this large is in milliseconds (year 5138 in seconds)


def parse_time(value: object) -> datetime | None:
    """RFC 3339 / ISO 8601 strings and unix times (seconds, or milliseconds) to naive UTC.

    None, "" and Docker's zero time are None (unknown). Anything else that is not a time between
    1970 and 2200 (a list, NaN, 1e400, year 9999, "yesterday") raises ValueError.

    >>> parse_time(1700000000), parse_time(1700000000000), parse_time("2026-11-27T01:02:03.123456789Z")
    (datetime.datetime(2023, 11, 14, 22, 13, 20), datetime.datetime(2023, 11, 14, 22, 13, 20), datetime.datetime(2026, 11, 27, 1, 2, 3, 123456))
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:
            raise ValueError(f"{value!r} is not a time") from None
        if not math.isfinite(seconds):
            raise ValueError(f"{value!r} is not a time")
        if abs(seconds) >= _EPOCH_MS:
            seconds /= 1000.0
        if not 0 <= seconds < 7.3e9:  # 1970 .. 2200
            raise ValueError(f"{value!r} is not a unix time between 1970 and 2200")
        parsed = datetime.fromtimestamp(seconds, tz=UTC).replace(tzinfo=None)
    elif isinstance(value, str):
        if value.startswith(_ZERO_TIME):
            return None
        # Python 3.11 reads up to 6 fractional digits; Docker prints 9.
        text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip()[:64])
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{value[:40]!r} is not an ISO 8601 time") from None
        if parsed.tzinfo is not None:
            try:
                parsed = parsed.astimezone(UTC).replace(tzinfo=None)
            except OverflowError:
                raise ValueError(f"{value[:40]!r} is out of range") from None
    else:
        raise ValueError(f"a {type(value).__name__} is not a time")
    if not MIN_TIME <= parsed < MAX_TIME:
        raise ValueError(f"{parsed.isoformat()} is outside 1970-2200")
    return parsed


def parse_time_or_none(value: object) -> datetime | None:
    """parse_time for optional detail (a sample's timestamp): anything unreadable is None."""
    try:
        return parse_time(value)
    except ValueError:
        return None
