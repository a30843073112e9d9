"""safe_io.read_capped: sized by fstat, yet never trusting it for the cap."""

from __future__ import annotations

import os

import pytest

from analyzer.ingest import ParseError
from analyzer.ingest.safe_io import read_capped


@pytest.mark.parametrize("size", [0, 1, 99, 100])
def test_a_file_up_to_the_cap_is_read_whole(tmp_path, size):
    path = tmp_path / "f"
    path.write_bytes(bytes(range(256))[:1] * size)
    assert read_capped(str(path), cap=100) == bytes(range(256))[:1] * size


@pytest.mark.parametrize("size", [101, 5000])
def test_a_file_over_the_cap_is_refused(tmp_path, size):
    path = tmp_path / "f"
    path.write_bytes(b"x" * size)
    with pytest.raises(ParseError, match="too large"):
        read_capped(str(path), cap=100)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_a_file_whose_size_says_zero_is_still_read_whole():
    """Kernel files report st_size 0 and hold text: the size is a hint, never the length."""
    assert os.stat("/proc/self/status").st_size == 0
    text = read_capped("/proc/self/status")
    assert b"\nVmRSS:" in text or b"\nPid:" in text
    assert text.endswith(b"\n") and len(text) > 200
