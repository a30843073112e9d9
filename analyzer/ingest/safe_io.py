"""Open artifacts without ever blocking, following links or trusting `st_size`.

Every artifact of a finished study is a regular file. Anything else found under a root (a FIFO, a
socket, a device, a link to one) is recorded and skipped: opening a FIFO blocks forever and
`/dev/zero` never ends. Files are opened with O_NONBLOCK | O_NOFOLLOW, checked with `fstat` on the
open descriptor (no race between check and read), and read up to a cap: at most `cap + 1` bytes
are read whatever `st_size` says, so a file that grows or lies cannot exhaust memory.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import stat
from typing import Any, BinaryIO

from . import ParseError

MAX_SMALL_FILE = 64 << 20  # JSON / YAML / cgroup / exit files: larger is refused
_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symbolic link"))


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words (for the `ingest_errors` row)."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def not_regular(path: str, mode: int) -> ParseError:
    return ParseError(f"{kind_of(mode)}, not a regular file", "it was not opened")


def open_regular(path: str) -> BinaryIO:
    """A binary file object for a regular file, opened without blocking or following a link.

    Raises ParseError for anything that is not a regular file, OSError for the rest."""
    try:
        fd = os.open(path, _FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ParseError("a symbolic link (not followed)", "it was not opened") from exc
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise not_regular(path, st.st_mode)
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_capped(path: str, cap: int = MAX_SMALL_FILE) -> bytes:
    """At most `cap` bytes of a regular file; ParseError if there are more (never trusts st_size)."""
    with open_regular(path) as fh:
        # read(n) allocates n bytes first: ask for the size fstat gives (+1, so a file larger
        # than it says still reads on, up to the cap), not for the cap (64 MiB per small file)
        size = os.fstat(fh.fileno()).st_size
        data = fh.read(min(size, cap) + 1)
        if len(data) > size and len(data) <= cap:
            data += fh.read(cap + 1 - len(data))
    if len(data) > cap:
        raise ParseError(f"larger than {cap >> 20} MiB, too large for this kind of file",
                         "the file was skipped")
    return data


def read_text(path: str, cap: int = MAX_SMALL_FILE) -> str:
    """A small text artifact: capped, no NUL bytes, invalid UTF-8 replaced."""
    data = read_capped(path, cap)
    if b"\x00" in data:
        raise ParseError("binary data (NUL bytes) in a text artifact")
    return data.decode("utf-8", "replace")


def sub_dict(obj: Any, key: str) -> dict[str, Any]:
    """`obj[key]` when `obj` is an object and that member is an object too, else `{}`: JSON
    from the field is read defensively, one level at a time."""
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, dict) else {}


def loads_json(text: str) -> Any:
    """`json.loads` whose only failures are JSONDecodeError and ParseError.

    200,000-deep nesting (RecursionError) and integers of more than 4,300 digits (ValueError)
    become ParseError; NaN, Infinity and 1e400 parse and are range-checked later (record.py)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError as exc:
        raise ParseError("JSON nested too deeply") from exc
    except ValueError as exc:
        raise ParseError(f"unreadable JSON value: {exc}") from exc


def display(text: str) -> str:
    """A path or name as stored text: bytes that are not UTF-8 (a non-UTF-8 directory name reaches
    Python as surrogates) become `\\xNN`, so the store and the terminal always get valid text."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") \
            if _only_escapes(text) else text.encode("utf-8", "backslashreplace").decode("utf-8")


def _only_escapes(text: str) -> bool:
    try:
        text.encode("utf-8", "surrogateescape")
        return True
    except UnicodeEncodeError:
        return False
