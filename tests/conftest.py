"""Shared fixtures: every test gets the same deterministic torch thread settings."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _torch_threads():
    # One thread: the networks are small (more threads only add synchronisation on a 2-core
    # machine), and a fixed count keeps float reductions repeatable.
    torch.set_num_threads(1)
    yield
