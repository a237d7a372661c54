"""One question made ready for a model: checked, fitted to its context window, tokenized once.

:func:`prepare_request` is the one place where the window rule lives. ``generate``,
``stream_generate``, Spark's ``add_responses``, the CLI and the playground all go through it,
so a prompt that does not fit gets the same one-line message everywhere, and a passage that
does not fit is cut the same way everywhere.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from .loading import LoadedModel
from .prompt import build_prompt
from .validation import ContextTruncatedWarning, check_context, check_instruction


@dataclass(frozen=True)
class Request:
    """What the model reads for one question."""

    instruction: str
    context: str | None  # as the model reads it: a passage too long for the window is cut
    prompt_ids: list[int]


def prepare_request(
    model: LoadedModel,
    instruction: str,
    context: str | None,
    max_new_tokens: int,
    *,
    label: str = "instruction",
) -> Request:
    """Check ``instruction``, fit its prompt and ``max_new_tokens`` to the model's window, tokenize it.

    The policy of :func:`~dolly_helpers.generate`: a ``max_new_tokens`` or an instruction that
    does not fit is refused (``ValueError`` giving the token counts); a passage that does not
    fit is cut from its end, with a one-line
    :class:`~dolly_helpers.validation.ContextTruncatedWarning`. A passage that fits comes back
    as it was passed. ``label`` names the instruction in messages ("instruction 2 of 5"). A
    prompt that fits is tokenized once.
    """
    instruction = check_instruction(instruction, label)
    window, name = model.spec.context_length, model.name
    if max_new_tokens > window:
        raise ValueError(
            f"max_new_tokens={max_new_tokens} is more than the {window} tokens {name} reads in all, "
            f"prompt and answer together: pass a smaller max_new_tokens, e.g. {min(64, window // 2)}"
        )
    passage = check_context(context)  # None or blank: no Input: section
    ids = _ids(model, build_prompt(instruction, passage))
    if len(ids) + max_new_tokens <= window:
        return Request(instruction, context, ids)
    bare = ids if passage is None else _ids(model, build_prompt(instruction))
    if len(bare) + max_new_tokens > window:
        if len(bare) >= window:
            raise ValueError(
                f"{label} is too long for {name}: its prompt takes {len(bare)} tokens and {name} reads "
                f"{window} in all, prompt and answer together: shorten it by at least "
                f"{len(bare) + max_new_tokens - window} tokens to leave room for "
                f"max_new_tokens={max_new_tokens}"
            )
        after = "the instruction" if label == "instruction" else label
        raise ValueError(
            f"max_new_tokens={max_new_tokens} does not fit after {after}: its prompt takes {len(bare)} "
            f"of the {window} tokens {name} reads, which leaves {window - len(bare)} for the answer: "
            f"pass max_new_tokens={window - len(bare)} or less, or shorten the instruction"
        )
    return _cut_context(model, instruction, passage, max_new_tokens, len(ids) + max_new_tokens - window, label)


def _ids(model: LoadedModel, text: str) -> list[int]:
    return model.tokenizer(text)["input_ids"]


def _cut_context(
    model: LoadedModel, instruction: str, context: str, max_new_tokens: int, excess: int, label: str
) -> Request:
    """Drop tokens from the end of the passage until prompt plus ``max_new_tokens`` fit; warn once."""
    window = model.spec.context_length
    ends = _token_ends(model, context)
    keep = max(0, len(ends) - excess)
    while True:
        kept = context[: ends[keep - 1]] if keep else ""
        ids = _ids(model, build_prompt(instruction, kept if kept.strip() else None))
        if len(ids) + max_new_tokens <= window or keep == 0:
            break
        keep -= 1
    which = "context" if label == "instruction" else f"context{label.removeprefix('instruction')}"
    warnings.warn(
        f"{which} cut by {len(ends) - keep} of its {len(ends)} tokens to fit {model.name}'s "
        f"{window}-token window ({len(ids)} prompt tokens + max_new_tokens={max_new_tokens}): "
        "shorten the passage or lower max_new_tokens to keep all of it",
        ContextTruncatedWarning,
        stacklevel=4,
    )
    return Request(instruction, kept if kept.strip() else None, ids)


def _token_ends(model: LoadedModel, text: str) -> list[int]:
    """Where each token of ``text`` ends, in characters, so the text can be cut between tokens."""
    tokenizer = model.tokenizer
    try:
        offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        return [end for _, end in offsets]
    except (NotImplementedError, ValueError, KeyError):  # a slow tokenizer has no offsets
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        return [len(tokenizer.decode(ids[: i + 1])) for i in range(len(ids))]
