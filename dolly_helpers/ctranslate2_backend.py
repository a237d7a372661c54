"""The CPU fast path: Dolly run by CTranslate2, a C++ inference engine, behind the same calls.

``load_model(name, backend="ctranslate2")`` converts the model once into a cache folder and
loads it with CTranslate2; :func:`dolly_helpers.generate` and ``stream_generate`` are unchanged.
Greedy answers, stop reasons and token counts are the same as with torch (the tests check it on
every tiny size); ``compute_type="int8"`` quantizes the weights to 8 bits as they are loaded.
Chapter "Making Dolly fast" measures what it buys.

CTranslate2's converter was written against transformers 4 and reads two names that
transformers 5 renamed: ``config.rotary_pct`` (now ``rope_parameters["partial_rotary_factor"]``)
and ``GPTNeoXForCausalLM.embed_out`` (now ``lm_head``). :class:`_Converter` gives the loaded model
both old names before the converter reads it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal

from .quiet import quiet

#: The package and version the fast path is tested with.
REQUIREMENT = "ctranslate2==4.8.5"
ComputeType = Literal["float32", "int8"]
COMPUTE_TYPES: tuple[str, ...] = ("float32", "int8")


class BackendUnavailableError(RuntimeError):
    """The ctranslate2 package is not installed."""


def import_ctranslate2():
    """Import ctranslate2, or say in one line how to install it."""
    try:
        import ctranslate2
    except ImportError:
        raise BackendUnavailableError(
            f"backend='ctranslate2' needs the ctranslate2 package: pip install {REQUIREMENT} "
            "(or use the default backend='torch')"
        ) from None
    return ctranslate2


def check_compute_type(compute_type: str) -> str:
    """Refuse a compute type the fast path does not offer, in one line."""
    if compute_type not in COMPUTE_TYPES:
        raise ValueError(
            f"compute_type={compute_type!r} is not offered: choose {' or '.join(map(repr, COMPUTE_TYPES))}"
        )
    return compute_type


def converted_folder(source: str, revision: str | None, cache_root: Path, compute_type: str = "float32") -> Path:
    """Where the converted copy of ``source`` lives; its name changes when the weights do."""
    digest = hashlib.sha256(f"{source}@{revision}:{compute_type}".encode())
    folder = Path(source)
    if folder.is_dir():  # each file's name, size and time: no need to read gigabytes of weights
        for file in sorted(folder.iterdir()):
            if file.is_file():
                stat = file.stat()
                digest.update(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    name = folder.name if folder.is_dir() else source.replace("/", "--")
    return cache_root / "ctranslate2" / f"{name}-{compute_type}-{digest.hexdigest()[:12]}"


def convert(source: str, revision: str | None, cache_root: Path, compute_type: str = "float32") -> Path:
    """Convert a GPT-NeoX model (folder or Hub id) once; return the CTranslate2 folder.

    The weights are stored in ``compute_type`` (int8: 8-bit weights with a float scale per
    row). The conversion is written to a ``.partial`` folder and renamed when it is complete,
    so a killed conversion is redone, never half-read.
    """
    target = converted_folder(source, revision, cache_root, compute_type)
    if (target / "model.bin").is_file():
        return target
    ctranslate2 = import_ctranslate2()
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)

    class _Converter(ctranslate2.converters.TransformersConverter):
        def load_model(self, model_class, model_name_or_path, **kwargs):
            model = super().load_model(model_class, model_name_or_path, **kwargs)
            rope = getattr(model.config, "rope_parameters", None) or {}
            if not hasattr(model.config, "rotary_pct"):
                model.config.rotary_pct = rope.get("partial_rotary_factor", 0.25)
            if not hasattr(model, "embed_out"):
                model.embed_out = model.lm_head
            return model

    with quiet():
        _Converter(source, revision=revision).convert(str(partial), quantization=compute_type)
    os.replace(partial, target)
    return target


class Engine:
    """A CTranslate2 generator on the CPU over a converted folder, reseedable.

    CTranslate2 seeds a generator's sampler when it starts its worker, so :meth:`reseed`
    starts a new one: a seeded sampled answer then repeats exactly.
    """

    def __init__(self, folder: Path, compute_type: str, threads: int):
        self.folder, self.compute_type, self.threads = folder, compute_type, threads
        self.generator = self._start()

    def _start(self):
        ctranslate2 = import_ctranslate2()
        return ctranslate2.Generator(
            str(self.folder), device="cpu", compute_type=self.compute_type, intra_threads=self.threads
        )

    def reseed(self, seed: int) -> None:
        import_ctranslate2().set_random_seed(seed)
        self.generator = self._start()


def weights_gb(folder: Path) -> float:
    """The size of the converted weights, in GB: what the engine holds in memory."""
    return (folder / "model.bin").stat().st_size / 1e9


def sampling_options(do_sample: bool, temperature: float, top_p: float, top_k: int) -> dict:
    """CTranslate2's names for the decoding settings: top-k 1 is greedy, as in torch."""
    if not do_sample:
        return {"sampling_topk": 1}
    return {"sampling_topk": top_k, "sampling_topp": top_p, "sampling_temperature": temperature}


def generate_ids(engine: Engine, tokenizer, prompts_ids: Sequence[Sequence[int]], max_new_tokens: int,
                 stop_ids: Sequence[int], options: dict) -> list[list[int]]:
    """The new token ids of each prompt, its stop token included, as ``generate`` returns them."""
    results = engine.generator.generate_batch(
        [tokenizer.convert_ids_to_tokens(list(ids)) for ids in prompts_ids],
        max_length=max_new_tokens,
        end_token=list(stop_ids),
        return_end_token=True,
        include_prompt_in_result=False,
        **options,
    )
    return [list(result.sequences_ids[0]) for result in results]


def stream_ids(engine: Engine, tokenizer, prompt_ids: Sequence[int], max_new_tokens: int,
               stop_ids: Sequence[int], options: dict) -> Iterator[int]:
    """The new token ids of one prompt, one at a time as they are written (the stop token too)."""
    for step in engine.generator.generate_tokens(
        tokenizer.convert_ids_to_tokens(list(prompt_ids)),
        max_length=max_new_tokens,
        end_token=list(stop_ids),
        **options,
    ):
        yield step.token_id
