"""quiet(): the noise of a block is turned off, and what it changed is turned back on after."""

import logging
import threading
import warnings

import transformers.utils.logging as hf_logging

from dolly_helpers.quiet import quiet


def test_quiet_silences_a_block_and_restores_what_it_changed():
    hf_logging.set_verbosity_info()
    accelerate = logging.getLogger("accelerate")
    accelerate.setLevel(logging.DEBUG)
    try:
        with quiet():
            assert hf_logging.get_verbosity() == hf_logging.ERROR
            assert accelerate.level == logging.ERROR
            with warnings.catch_warnings(record=True) as caught:
                warnings.warn("inside")
            assert caught == []
        with warnings.catch_warnings(record=True) as caught:
            warnings.warn("after")
        assert [str(w.message) for w in caught] == ["after"]
        assert hf_logging.get_verbosity() == hf_logging.INFO
        assert accelerate.level == logging.DEBUG
    finally:
        hf_logging.set_verbosity_warning()
        accelerate.setLevel(logging.NOTSET)


def test_quiet_in_another_thread_leaves_the_warning_filters_alone():
    before, seen = list(warnings.filters), []

    def worker() -> None:
        with quiet():
            seen.append(list(warnings.filters))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [before] and warnings.filters == before
