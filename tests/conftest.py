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


@pytest.fixture(scope="session")
def loaded_offline():
    """Every tiny model loaded offline in a fresh process, not this one (whose imports could hide
    a missing file): by name, its dtype, why its answer stopped and whether it answered, or the
    error that stopped it. One process for the whole family: most of a process's time is
    importing torch and transformers, which six processes would do six times."""
    import subprocess
    import sys

    from dolly_helpers.models import TINY_BASE_MODELS

    script = (
        "import sys\n"
        "from dolly_helpers import load_model, generate\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        m = load_model(name); r = generate(m, 'What is the capital of France?', max_new_tokens=24)\n"
        "        print(name, m.dtype, r.stop_reason, bool(r.response.strip()))\n"
        "    except Exception as error:\n"
        "        print(name, 'error', repr(error).replace(chr(10), ' '))\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    names = [*TINY_BASE_MODELS, *TINY_MODELS]
    out = subprocess.run([sys.executable, "-c", script, *names], capture_output=True, text=True, env=env,
                         check=True).stdout
    return {line.split()[0]: line.split(maxsplit=1)[1] for line in out.splitlines()}
