"""Silence the progress bars and warnings that would clutter a notebook's output.

Every load and generation in the book goes through :func:`quiet`, so committed notebooks
carry answers, not download bars or deprecation notices.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import warnings
from collections.abc import Iterator

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
# The book's outputs carry answers, not transformers' notices (a tokenizer told that a document
# is longer than a window it is only counting tokens for, say): errors only, unless the reader
# sets TRANSFORMERS_VERBOSITY. It takes effect when transformers is first imported.
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# torchao (which transformers imports when it is installed) logs every CUDA-only library it cannot
# load on a CPU, with its path; torch's pytree logs a deprecation for torchao's enums.
for _noisy in ("torchao", "torch.utils._pytree"):
    logging.getLogger(_noisy).setLevel(logging.ERROR)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Run a block with Hugging Face logging, progress bars and Python warnings turned off.

    Everything it turns off is turned back on afterwards. Python's warning filters belong to
    the whole process, so only the main thread changes them; in another thread (the one
    ``stream_generate`` generates in) the block runs with the loggers quiet and the filters as
    they are.
    """
    import huggingface_hub.utils
    import transformers.utils.logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hub_bars = not huggingface_hub.utils.are_progress_bars_disabled()
    # accelerate's notices; the ONNX exporter's note on each torchvision operator it skips (torch
    # resets that logger's level as it imports its exporter, so it is set here, not at import).
    loggers = [logging.getLogger(name) for name in ("accelerate", "torch.onnx")]
    levels = [logger.level for logger in loggers]
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    huggingface_hub.utils.disable_progress_bars()
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        if threading.current_thread() is threading.main_thread():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield
        else:
            yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
        if hub_bars:
            huggingface_hub.utils.enable_progress_bars()
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
