"""The GPT-NeoX block diagram carries the shapes of the model it is drawn for."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from dolly_helpers import get_spec  # noqa: E402
from dolly_helpers.diagrams import neox_block  # noqa: E402


@pytest.mark.parametrize(("name", "expected"), [
    ("dolly-v2-12b", ["40 heads × 128", "rotary on 32 of 128 dims", "5,120 → 20,480 → 5,120", "one of 36 layers"]),
    ("tiny-dolly-large", ["8 heads × 32", "rotary on 8 of 32 dims", "256 → 1,024 → 256", "one of 6 layers"]),
])
def test_the_block_shows_the_models_shapes(name, expected):
    figure = neox_block(get_spec(name))
    texts = " ".join(text.get_text() for text in figure.axes[0].texts)
    for piece in [*expected, "LayerNorm", "causal self-attention", "MLP", "x + attention(LN₁(x)) + MLP(LN₂(x))"]:
        assert piece in texts
    plt.close(figure)
