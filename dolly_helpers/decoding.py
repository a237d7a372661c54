"""How the next token is chosen, in one place: greedy or sampled, and where an answer stops.

:class:`DecodingSettings` is built once from the keywords of ``generate``, the command line's
temperature, the playground's controls or Spark's driver, and checked as it is built; the
same object then travels to wherever the model runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .validation import check_decoding, check_seed

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from .loading import LoadedModel

#: Dolly's own sampling defaults (databrickslabs/dolly, training/generate.py).
DOLLY_TOP_P = 0.92
DOLLY_TOP_K = 0


@dataclass(frozen=True)
class DecodingSettings:
    """How the next token is chosen: greedy by default, sampled when ``do_sample``.

    Building one checks every value (:func:`~dolly_helpers.validation.check_decoding`), so
    ``generate``, ``stream_generate``, the playground and the CLI refuse the same mistakes with
    the same one-line ``TypeError`` or ``ValueError``. ``seed`` is None or 0 to 2**32 - 1.
    """

    max_new_tokens: int = 64
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = DOLLY_TOP_P
    top_k: int = DOLLY_TOP_K
    seed: int | None = None

    def __post_init__(self) -> None:
        check_decoding(
            max_new_tokens=self.max_new_tokens,
            do_sample=self.do_sample,
            temperature=self.temperature,
            top_p=self.top_p,
            top_k=self.top_k,
        )
        check_seed(self.seed)

    @classmethod
    def from_temperature(cls, temperature: float, **options) -> DecodingSettings:
        """Settings from one temperature, as the command line takes it: 0 is greedy, above 0 samples."""
        if temperature == 0:
            return cls(**options)
        return cls(do_sample=True, temperature=temperature, **options)

    def generate_kwargs(self, model: LoadedModel) -> dict:
        """The keywords of transformers' ``generate`` for ``model``: these settings and Dolly's stops."""
        stops = {"eos_token_id": stop_token_ids(model), "pad_token_id": model.tokenizer.pad_token_id}
        if not self.do_sample:
            return {"max_new_tokens": self.max_new_tokens, "do_sample": False, **stops}
        return {"max_new_tokens": self.max_new_tokens, "do_sample": True, "temperature": self.temperature,
                "top_p": self.top_p, "top_k": self.top_k, **stops}  # fmt: skip


def settings_from(settings: DecodingSettings | None, **keywords) -> DecodingSettings:
    """``settings`` when given, its decoding keywords left at their defaults; else the keywords' settings."""
    from_keywords = DecodingSettings(**keywords)
    if settings is None:
        return from_keywords
    if not isinstance(settings, DecodingSettings):
        raise TypeError(f"settings must be a DecodingSettings, got {type(settings).__name__}")
    if from_keywords != DecodingSettings():
        raise ValueError("pass the decoding options either as settings=DecodingSettings(...) or as keywords, not both")
    return settings


def stop_token_ids(model: LoadedModel) -> list[int]:
    """Stop at ``### End`` (Dolly's eos during generation) or the tokenizer's own eos."""
    return [i for i in (model.end_token_id, model.tokenizer.eos_token_id) if i is not None]
