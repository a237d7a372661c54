"""The tiny family's tokenizer: a byte-level BPE trained on the mini-Pile (chapter 1 shows it).

As with Pythia, the tokenizer is trained on the pretraining corpus only, so ordinary English,
code and numbers split sensibly. Dolly's three prompt keys are added later, at the
instruction stage (:func:`add_dolly_keys`), exactly as Dolly's trainer adds them to Pythia's.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..prompt import SPECIAL_TOKENS

END_OF_TEXT = "<|endoftext|>"
PADDING = "<|padding|>"
#: Tokens of the base tokenizer, its two special tokens included.
VOCAB_SIZE = 4096


def train_tokenizer(texts: Iterable[str], vocab_size: int = VOCAB_SIZE, context_length: int = 256):
    """Return a fast byte-level BPE tokenizer trained on ``texts``, with Pythia's two special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[END_OF_TEXT, PADDING],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token=END_OF_TEXT,
        eos_token=END_OF_TEXT,
        unk_token=END_OF_TEXT,
        pad_token=PADDING,
        model_max_length=context_length,
        padding_side="left",
    )


def add_dolly_keys(tokenizer) -> int:
    """Add ``### End``, ``### Instruction:`` and ``### Response:`` as special tokens.

    Returns how many were new. The model's embeddings must then be resized to
    ``len(tokenizer)``, as Dolly's trainer does with ``resize_token_embeddings``.
    """
    return tokenizer.add_special_tokens({"additional_special_tokens": list(SPECIAL_TOKENS)})
