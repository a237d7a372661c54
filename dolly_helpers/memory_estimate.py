"""The memory estimate behind every plan: weights, KV cache, overhead and host RAM, in GB = 1e9 bytes.

The estimate, for ``n`` parameters, ``L`` layers of width ``h``, a sequence of ``s`` tokens and a
batch of ``b``:

- weights = n x bytes per parameter; in 8-bit the linear layers take 1 byte per weight and the
  rest (embeddings, output layer, biases, norms) stays in the 16-bit dtype, 2 bytes;
- KV cache = 2 (keys and values) x L x h x s x b x bytes;
- overhead = a fixed GPU runtime reserve (CUDA context, cuBLAS workspace, driver) plus 5 % of
  weights and KV cache for activations and allocator slack;
- host RAM for the load = 1.1 x (the checkpoint file, read whole: Dolly ships one unsharded
  ``pytorch_model.bin``; plus the weights when the model lives on the CPU) + a fixed baseline
  for the OS, Python, torch and the CUDA libraries. Dolly issue 64: 12b failed with 28 GB of
  RAM and loaded with 64 GB. Newer transformers memory-map the file and may need less.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import ModelSpec

#: GPU memory the runtime takes before any weight arrives: the CUDA context, cuBLAS and the
#: driver's own reserve (a "16 GB" T4 shows PyTorch about 15.8 GB).
GPU_RUNTIME_RESERVE_GB = 0.75
#: Share of weights and KV cache added for activations and allocator fragmentation.
ACTIVATION_FRACTION = 0.05
#: Host RAM the OS, Python, torch and the CUDA libraries hold during a load.
HOST_BASELINE_GB = 4.0
#: Headroom on the host side for unpickling and per-tensor dtype conversion.
HOST_LOAD_FACTOR = 1.1


@dataclass(frozen=True)
class Estimate:
    """The three terms of one configuration, in GB."""

    weights_gb: float
    kv_cache_gb: float
    overhead_gb: float

    @property
    def total_gb(self) -> float:
        return self.weights_gb + self.kv_cache_gb + self.overhead_gb


#: Bytes per linear-layer weight when quantized: 8-bit is one byte; 4-bit (bitsandbytes' NF4) is
#: half a byte plus one 4-byte scale per block of 64 weights.
QUANTIZED_BYTES = {8: 1.0, 4: 0.5 + 4 / 64}


def linear_weights(spec: ModelSpec) -> int:
    """Weights of the linear layers inside the blocks: what 8-bit and 4-bit quantize."""
    h, i = spec.hidden_size, spec.intermediate_size
    return spec.num_layers * (4 * h * h + 2 * h * i)


def estimate_memory(
    spec: ModelSpec,
    nbytes: int,
    bits: int | None,
    sequence_length: int,
    batch_size: int,
    on_gpu: bool,
) -> Estimate:
    """Weights, KV cache and overhead of one configuration (see the module docstring); ``bits`` is
    8 or 4 for quantized linear layers, None for none."""
    if bits:
        linear = linear_weights(spec)
        weights = linear * QUANTIZED_BYTES[bits] + (spec.n_params - linear) * nbytes
    else:
        weights = spec.n_params * nbytes
    kv_cache = 2 * spec.num_layers * spec.hidden_size * sequence_length * batch_size * nbytes
    weights_gb, kv_gb = weights / 1e9, kv_cache / 1e9
    reserve = GPU_RUNTIME_RESERVE_GB if on_gpu else 0.0
    return Estimate(weights_gb, kv_gb, reserve + ACTIVATION_FRACTION * (weights_gb + kv_gb))


def host_ram_gb(spec: ModelSpec, weights_gb: float, on_gpu: bool) -> float:
    """Peak host RAM while loading; a checkpoint of unknown size counts as float32."""
    checkpoint_gb = spec.checkpoint_gb or spec.n_params * 4 / 1e9
    resident_gb = 0.0 if on_gpu else weights_gb
    return HOST_LOAD_FACTOR * (checkpoint_gb + resident_gb) + HOST_BASELINE_GB
