"""Shared test helpers."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
# Set NETLANG_UPDATE_GOLDEN=1 to rewrite golden files from the current output (then review the diff).
UPDATE_GOLDEN = os.environ.get("NETLANG_UPDATE_GOLDEN") == "1"


# Never the user's cache (~/.cache/netlang), not even for what test modules compile while
# pytest collects them, before any fixture runs; each test then gets an empty one of its own.
os.environ["NETLANG_CACHE_DIR"] = tempfile.mkdtemp(prefix="netlang-test-cache-")


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch, tmp_path_factory):
    """Each test gets an empty compiled-network cache of its own, never the user's (netlang.cache)."""
    monkeypatch.setenv("NETLANG_CACHE_DIR", str(tmp_path_factory.mktemp("netlang-cache")))
    monkeypatch.delenv("NETLANG_NO_CACHE", raising=False)


@pytest.fixture
def cli():
    """Run the netlang command line in-process: cli("run", "x.net", "--x", "1") -> click Result."""
    from netlang.cli import main

    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


def golden(path: Path, actual: str) -> None:
    """Compare ``actual`` with the golden file at ``path`` (or rewrite it when updating)."""
    if UPDATE_GOLDEN or not path.exists():
        if not UPDATE_GOLDEN:
            pytest.fail(f"golden file {path.name} is missing; run with NETLANG_UPDATE_GOLDEN=1 to create it")
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8")
