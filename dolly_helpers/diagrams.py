"""Diagrams drawn from a model's shapes (chapter "Inside Dolly's network").

:func:`neox_block` draws one GPT-NeoX layer as Dolly uses it: attention and MLP side by side on
the same input, their outputs added to it (the parallel residual), with the shapes of the model
it is given written on the arrows.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from .models import ModelSpec

_BOX = {"attention": "#dbe9f6", "mlp": "#fde3c8", "norm": "#eeeeee", "sum": "#ffffff"}


def neox_block(spec: ModelSpec, ax: plt.Axes | None = None) -> Figure:
    """One layer of ``spec``'s network: LayerNorm, attention and MLP in parallel, and the residual sum."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 6.2))
    h, heads, d = spec.hidden_size, spec.num_heads, spec.head_dim
    rotary = int(d * spec.rotary_pct)

    def box(x, y, width, text, colour):
        ax.add_patch(FancyBboxPatch((x - width / 2, y - 0.32), width, 0.64, boxstyle="round,pad=0.04",
                                    facecolor=colour, edgecolor="#555555"))  # fmt: skip
        ax.text(x, y, text, ha="center", va="center", fontsize=9)

    def arrow(start, end, label=""):
        ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "->", "color": "#333333"})
        if label:
            ax.text((start[0] + end[0]) / 2 + 0.08, (start[1] + end[1]) / 2, label, fontsize=7.5, color="#444444",
                    va="center")  # fmt: skip

    box(2.0, 0.0, 2.6, f"input x\n(tokens × {h:,})", _BOX["sum"])
    box(0.8, 1.5, 1.6, "LayerNorm", _BOX["norm"])
    box(3.2, 1.5, 1.6, "LayerNorm", _BOX["norm"])
    box(0.8, 3.0, 2.3, f"causal self-attention\n{heads} heads × {d}\nrotary on {rotary} of {d} dims",
        _BOX["attention"])  # fmt: skip
    box(3.2, 3.0, 2.3, f"MLP\n{h:,} → {spec.intermediate_size:,} → {h:,}\nGELU", _BOX["mlp"])
    ax.add_patch(plt.Circle((2.0, 4.6), 0.22, facecolor="white", edgecolor="#333333"))
    ax.text(2.0, 4.6, "+", ha="center", va="center", fontsize=14)
    box(2.0, 5.9, 2.6, f"output\n(tokens × {h:,})", _BOX["sum"])

    arrow((1.6, 0.33), (0.9, 1.16))
    arrow((2.4, 0.33), (3.1, 1.16))
    arrow((0.8, 1.84), (0.8, 2.52), f"{h:,}")
    arrow((3.2, 1.84), (3.2, 2.52), f"{h:,}")
    arrow((0.9, 3.48), (1.82, 4.47), "attention(LN₁(x))")
    arrow((3.1, 3.48), (2.18, 4.47), "MLP(LN₂(x))")
    ax.plot([2.0, 2.0], [0.33, 4.38], color="#333333", linestyle="--", linewidth=1)  # the residual: x itself
    ax.text(2.06, 2.3, "x", fontsize=9, color="#333333")
    arrow((2.0, 4.82), (2.0, 5.57))
    ax.text(2.0, 6.75, f"one of {spec.num_layers} layers of {spec.name}: x + attention(LN₁(x)) + MLP(LN₂(x))",
            ha="center", fontsize=9.5, weight="bold")  # fmt: skip
    ax.set_xlim(-0.6, 4.6)
    ax.set_ylim(-0.6, 7.1)
    ax.axis("off")
    return ax.figure
