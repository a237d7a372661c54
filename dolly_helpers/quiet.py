"""Silence the progress bars and warnings that would clutter a notebook's output.

Every load and generation in the book goes through :func:`quiet`, so committed notebooks
carry answers, not download bars or deprecation notices.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# torchao (which transformers imports when it is installed) logs every CUDA-only library it cannot
# load on a CPU, with its path; torch's pytree logs a deprecation for torchao's enums; the ONNX
# exporter logs each torchvision operator it skips, and its own progress.
for _noisy in ("torchao", "torch.utils._pytree", "torch.onnx"):
    logging.getLogger(_noisy).setLevel(logging.ERROR)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Run a block with Hugging Face logging, progress bars and Python warnings turned off."""
    import huggingface_hub.utils
    import transformers.utils.logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    huggingface_hub.utils.disable_progress_bars()
    logging.getLogger("accelerate").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
