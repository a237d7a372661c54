"""8-bit and 4-bit weights on the CPU with torchao (chapter 12).

:func:`quantize` returns a copy of a loaded model whose linear layers keep their weights in 8 or
4 bits (one scale per row, or per group of 32 values for 4 bits). The output layer keeps its
weights unquantized: it is the layer whose rounding every token's choice depends on. 8-bit
computes in float32; 4-bit in bfloat16, the only activations torchao's 4-bit CPU kernel takes
(in float32 it falls back to a path about twenty times slower), so the rest of a 4-bit model is
in bfloat16 too. bitsandbytes, which ``load_model(..., load_in_8bit=True)`` uses for Dolly on a GPU,
does the same job on CUDA.
"""

from __future__ import annotations

import copy
import dataclasses
import io

import torch

from .loading import LoadedModel

#: Bits per weight :func:`quantize` offers.
BITS = (8, 4)
#: Weights per 4-bit group: each group of this many weights in a row shares one scale.
GROUP_SIZE = 32


def quantize(model: LoadedModel, bits: int) -> LoadedModel:
    """A copy of ``model`` (torch backend, float32 on the CPU) with its linear layers' weights in ``bits`` bits;
    ``weights_gb`` is the copy's, as saved."""
    if bits not in BITS:
        raise ValueError(f"bits must be 8 or 4, got {bits!r}")
    if model.backend != "torch" or model.device != "cpu" or model.dtype != torch.float32:
        raise ValueError("quantize takes a float32 model on the CPU: load_model(name) with the defaults")
    from torchao.quantization import Int8WeightOnlyConfig, quantize_

    network = copy.deepcopy(model.model)
    if bits == 8:
        config, dtype = Int8WeightOnlyConfig(), torch.float32
    else:
        from torchao.prototype.quantization.int4 import PrototypeInt4WeightOnlyConfig

        config, dtype = PrototypeInt4WeightOnlyConfig(group_size=GROUP_SIZE), torch.bfloat16
    network = network.to(dtype)
    output_layer = network.get_output_embeddings()
    quantize_(network, config, filter_fn=lambda module, name: isinstance(module, torch.nn.Linear) and module is not output_layer)
    quantized = dataclasses.replace(model, model=network.eval(), dtype=dtype)
    return dataclasses.replace(quantized, weights_gb=weight_megabytes(quantized) / 1000)


def weight_megabytes(model: LoadedModel) -> float:
    """The size of the model's weights as saved (``torch.save`` of its state dict), in megabytes."""
    buffer = io.BytesIO()
    torch.save(model.model.state_dict(), buffer)
    return buffer.getbuffer().nbytes / 1e6
