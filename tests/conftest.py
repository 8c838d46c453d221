"""Shared fixtures: every test gets the same deterministic torch thread settings."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _torch_threads():
    # Two cores on the reference machine; fixed so timings and float sums are repeatable.
    torch.set_num_threads(2)
    yield
