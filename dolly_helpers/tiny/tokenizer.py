"""Train the tiny family's byte-level BPE tokenizer (chapter 1 shows it at work).

Like Dolly's, it knows Dolly's three prompt keys as special tokens, so ``### End`` is one
token the model can emit to say it has finished.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..prompt import SPECIAL_TOKENS

END_OF_TEXT = "<|endoftext|>"
PADDING = "<|padding|>"


def train_tokenizer(texts: Iterable[str], vocab_size: int, context_length: int):
    """Return a fast tokenizer trained on ``texts``, with Pythia's and Dolly's special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[END_OF_TEXT, PADDING, *SPECIAL_TOKENS],
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
        additional_special_tokens=list(SPECIAL_TOKENS),
        model_max_length=context_length,
        padding_side="left",
    )
