"""Check what a reader passes in, once, and say in one line what is wrong and what to do.

Every entry point of the book (``generate``, ``stream_generate``, the chapter 9 playground and
``python -m dolly_helpers ask``) runs its arguments through these checks before any model work,
so a typo costs a one-line ``TypeError`` or ``ValueError``, never a traceback from deep inside
transformers. :class:`~dolly_helpers.generation.DecodingSettings` calls the decoding checks when
it is built; :func:`~dolly_helpers.prompt.build_prompt` calls the text checks.
"""

from __future__ import annotations

import math
import numbers

#: numpy's seed accepts 0 .. 2**32 - 1; ``set_seed`` seeds numpy too.
MAX_SEED = 2**32 - 1


class ContextTruncatedWarning(UserWarning):
    """A passage (``context``) was cut to fit the model's context window; the warning says how much."""


def first_line(error: BaseException | str) -> str:
    """The first line of an error's message (its type's name when the message is empty)."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def error_line(error: BaseException, *, last: bool = False) -> str:
    """``TypeName: message`` on one line of at most 300 characters, for reports that keep going.

    The message's first line, or its last with ``last=True`` (papermill ends with the cell's error).
    """
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    return f"{type(error).__name__}: {lines[-1] if last else lines[0]}"[:300]


def _shown(value: object) -> str:
    """``int 42``, ``str 'hot'``: a value and its type, short enough for a one-line message."""
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"


def check_instruction(instruction: object, label: str = "instruction") -> str:
    """Return ``instruction`` if it is a non-empty string; else raise a one-line error.

    Not text (``None``, a number, ``bytes``): ``TypeError``. Empty or only whitespace: ``ValueError``.
    ``label`` names the argument in the message, e.g. "instruction 3 of 8".
    """
    if isinstance(instruction, str):
        if not instruction.strip():
            raise ValueError(f"{label} is empty: pass the question or task as a non-empty string")
        return instruction
    if instruction is None:
        raise TypeError(f"{label} is None: pass the question or task as a string")
    if isinstance(instruction, (bytes, bytearray)):
        raise TypeError(f"{label} is bytes, not text: decode it first, e.g. .decode('utf-8')")
    raise TypeError(f"{label} must be a string, got {_shown(instruction)}: pass the question or task as text")


def check_context(context: object, label: str = "context") -> str | None:
    """Return the passage, or None for no passage (None, empty or only whitespace).

    Anything but a string or None raises a one-line ``TypeError``.
    """
    if context is None:
        return None
    if isinstance(context, str):
        return context if context.strip() else None
    if isinstance(context, (bytes, bytearray)):
        raise TypeError(f"{label} is bytes, not text: decode it first, e.g. .decode('utf-8')")
    raise TypeError(f"{label} must be a string or None, got {_shown(context)}: pass the passage as text")


def check_whole_number(name: str, value: object, *, minimum: int, example: str) -> int:
    """Return ``value`` as an ``int`` if it is a whole number of at least ``minimum``.

    ``True``/``False`` and floats such as ``64.0`` are refused (``TypeError``): a bool or a float
    where a count belongs is almost always a mistake elsewhere.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number, got {_shown(value)}: e.g. {name}={example}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}: e.g. {name}={example}")
    return int(value)


def _check_number(name: str, value: object, example: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {_shown(value)}: e.g. {name}={example}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}: e.g. {name}={example}")
    return float(value)


def check_decoding(
    *,
    max_new_tokens: object,
    do_sample: object,
    temperature: object,
    top_p: object,
    top_k: object,
) -> None:
    """Check the decoding settings that do not depend on the model; raise on the first bad one.

    - ``max_new_tokens``: a whole number, at least 1 (the model's window is checked later,
      against the prompt, by ``generate``);
    - ``do_sample``: True or False;
    - ``temperature``: a finite number, not negative, and above 0 when sampling;
    - ``top_p``: in (0, 1]; ``top_k``: a whole number, 0 (off, Dolly's default) or more.

    Every value is checked even when greedy decoding ignores it: a negative temperature is a
    mistake whether or not this call samples.
    """
    check_whole_number("max_new_tokens", max_new_tokens, minimum=1, example="64")
    if not isinstance(do_sample, bool):
        raise TypeError(f"do_sample must be True or False, got {_shown(do_sample)}")
    temperature = _check_number("temperature", temperature, "0.7")
    if temperature < 0:
        raise ValueError(
            f"temperature must not be negative, got {temperature:g}: sample with one above 0 (e.g. 0.7; "
            "1.0 keeps the model's own probabilities) or answer greedily (do_sample=False; "
            "temperature 0 in the CLI and the playground)"
        )
    if do_sample and temperature == 0:
        raise ValueError(
            "temperature=0 cannot be sampled from: pass a temperature above 0 (e.g. 0.7), "
            "or do_sample=False for greedy answers"
        )
    top_p = _check_number("top_p", top_p, "0.92")
    if not 0 < top_p <= 1:
        raise ValueError(
            f"top_p must be above 0 and at most 1, got {top_p:g}: it is the share of probability "
            "sampled from, e.g. 0.92 (Dolly's default) or 1.0 for every token"
        )
    check_whole_number("top_k", top_k, minimum=0, example="0")


def check_seed(seed: object) -> int | None:
    """Return ``seed`` if it is None or a whole number from 0 to 2**32 - 1 (what NumPy accepts)."""
    if seed is None:
        return None
    seed = check_whole_number("seed", seed, minimum=0, example="0")
    if seed > MAX_SEED:
        raise ValueError(f"seed must be at most {MAX_SEED:,}, got {seed:,}: e.g. seed=0")
    return seed
