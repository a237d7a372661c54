"""Shared fixtures: the tiny models load once per test session."""

import os

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"  # tests never reach for the network

from dolly_helpers import TINY_MODELS, load_model  # noqa: E402


@pytest.fixture(scope="session")
def tiny_models():
    return {name: load_model(name) for name in TINY_MODELS}


@pytest.fixture(scope="session")
def model(tiny_models):
    return tiny_models["tiny-dolly-large"]
