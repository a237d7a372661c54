"""Shared fixtures: the tiny models load once per test session."""

import os

import pytest
import torch

os.environ["HF_HUB_OFFLINE"] = "1"  # tests never reach for the network

from dolly_helpers import TINY_MODELS, load_model  # noqa: E402


@pytest.fixture(scope="session")
def tiny_models():
    return {name: load_model(name) for name in TINY_MODELS}


@pytest.fixture(scope="session")
def model(tiny_models):
    return tiny_models["tiny-dolly-large"]


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module that trains a tiny shape: it gains nothing from threads,
    and on a busy CPU they only wait for each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
