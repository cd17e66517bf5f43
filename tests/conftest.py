"""Shared fixtures: an isolated cache, the shared data folder (tests using it skip when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

#: ``<repo>/../shared/data`` — real songs and clips; present in CI, maybe not elsewhere.
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test writes its caches into a private folder."""
    monkeypatch.setenv("MUSYNC_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "musync-cache"))


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA}")
    return SHARED_DATA


def pytest_collection_modifyitems(config, items):
    """Modules that set ``RUN_LAST = True`` run after the others (order kept otherwise).

    The batch tests start Dask in the test process, and Dask keeps a thread-pool thread alive
    afterwards; from then on ``scan_clips`` (rightly) starts its pool with spawn instead of fork,
    and tests that inject a crash into forked scan workers need fork.
    """
    items.sort(key=lambda it: bool(getattr(getattr(it, "module", None), "RUN_LAST", False)))
