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
