"""A progress line on stderr that moves: trials read and MB/s, repainted at least every second.

Only on a terminal and not with `-q` (the caller decides). A background thread repaints every
`interval` seconds from counters the pipeline bumps, so a long batch never looks frozen.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, enabled: bool, out: TextIO | None = None, interval: float = 0.5) -> None:
        self.total, self.enabled = total, enabled and total > 0
        self.trials = 0
        self.bytes = 0
        self.out = out or sys.stderr
        self.interval = interval
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> Progress:
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="analyzer-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._paint()
            self.out.write("\n")
            self.out.flush()

    def advance(self, trials: int = 0, nbytes: int = 0) -> None:
        with self._lock:
            self.trials += trials
            self.bytes += nbytes

    def line(self) -> str:
        with self._lock:
            trials, nbytes = self.trials, self.bytes
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return (f"\ringest: {trials}/{self.total} trials, {nbytes / 1e6:.1f} MB "
                f"({nbytes / 1e6 / elapsed:.1f} MB/s, {elapsed:.0f}s)")

    def _paint(self) -> None:
        self.out.write(self.line())
        self.out.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._paint()
            except (OSError, ValueError):
                return
