"""Shared test settings: deterministic, single-threaded torch per xdist worker, no network."""

from __future__ import annotations

import os

import pytest

# Keep each xdist worker to one thread so 2 workers use the 2 cores without oversubscription.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True, scope="session")
def _session_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A DANET_HOME for module-scoped fixtures too (they run before the per-test one below)."""
    os.environ["DANET_HOME"] = str(tmp_path_factory.mktemp("danet_session_home"))


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own DANET_HOME so nothing reads or writes the user's cache."""
    home = tmp_path_factory.mktemp("danet_home")
    monkeypatch.setenv("DANET_HOME", str(home))
    monkeypatch.delenv("DANET_DATA", raising=False)
    monkeypatch.delenv("DANET_MIRROR", raising=False)


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)
