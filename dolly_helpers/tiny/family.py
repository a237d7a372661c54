"""Build, save and score the shipped tiny Dolly family.

``python -m dolly_helpers.tiny train`` runs :func:`train_family` once; its output (weights,
tokenizer, ``training.json`` and a model card per size) is committed, so a fresh clone loads
the models offline in a fraction of a second.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ..loading import load_model
from ..models import TINY_MODELS, ModelSpec, get_spec
from ..prompt import build_training_text
from .dataset import category_counts, make_dataset
from .evaluate import Evaluation, evaluate_model
from .tokenizer import train_tokenizer
from .train import TrainingRun, train_model

TRAINING_RECORD = "training.json"
DATA_SEED = 0


@dataclass(frozen=True)
class Recipe:
    """How long and how fast one size trains."""

    steps: int
    learning_rate: float
    batch_size: int = 32


RECIPES = {
    "tiny-dolly-small": Recipe(steps=1500, learning_rate=3e-3),
    "tiny-dolly-medium": Recipe(steps=1500, learning_rate=2e-3),
    "tiny-dolly-large": Recipe(steps=1500, learning_rate=1e-3),
}


def train_family(
    names: Sequence[str] = TINY_MODELS, *, log: Callable[[str], None] = print
) -> list[Evaluation]:
    """Generate the data, train the tokenizer and each size, save, score and describe them."""
    dataset = make_dataset(DATA_SEED)
    texts = [build_training_text(r.instruction, r.response, r.context) for r in dataset.train]
    specs = [get_spec(name) for name in names]
    tokenizer = train_tokenizer(texts, specs[0].vocab_size, specs[0].context_length)
    evaluations = []
    for spec in specs:
        recipe = RECIPES[spec.name]
        log(f"training {spec.name} ({spec.n_params:,} parameters, {recipe.steps} steps)")
        run = train_model(
            spec,
            dataset.train,
            tokenizer,
            steps=recipe.steps,
            batch_size=recipe.batch_size,
            learning_rate=recipe.learning_rate,
        )
        save_run(run, spec.local_path)
        evaluation = evaluate_model(load_model(spec.name), dataset.heldout)
        write_training_record(spec, run, evaluation, dataset)
        log(f"  {run.seconds:.0f} s, final loss {run.losses[-1]:.3f}, {_scores(evaluation)}")
        evaluations.append(evaluation)
    return evaluations


def evaluate_family(names: Sequence[str] = TINY_MODELS) -> list[Evaluation]:
    """Score the shipped models on the held-out split (chapter 6)."""
    heldout = make_dataset(DATA_SEED).heldout
    return [evaluate_model(load_model(name), heldout) for name in names]


def save_run(run: TrainingRun, folder: Path) -> None:
    """Save weights as safetensors and the tokenizer, the way Hugging Face models ship."""
    folder.mkdir(parents=True, exist_ok=True)
    run.model.save_pretrained(folder)
    run.tokenizer.save_pretrained(folder)


def read_training_record(name: str) -> dict:
    """The saved facts of one shipped model's training: recipe, time, losses, scores."""
    return json.loads((get_spec(name).local_path / TRAINING_RECORD).read_text())


def write_training_record(spec: ModelSpec, run: TrainingRun, evaluation: Evaluation, dataset) -> None:
    """Write ``training.json`` and the model card ``README.md`` beside the weights."""
    import torch
    import transformers

    record = {
        "name": spec.name,
        "n_params": spec.n_params,
        "steps": run.steps,
        "batch_size": run.batch_size,
        "learning_rate": run.learning_rate,
        "seconds": round(run.seconds, 1),
        "machine": f"{platform.machine()} CPU, {torch.get_num_threads()} threads",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "train_records": len(dataset.train),
        "heldout_records": len(dataset.heldout),
        "train_categories": category_counts(dataset.train),
        "evaluation": asdict(evaluation),
        "losses": [round(loss, 4) for loss in run.losses],
    }
    folder = spec.local_path
    (folder / TRAINING_RECORD).write_text(json.dumps(record, indent=1) + "\n")
    (folder / "README.md").write_text(model_card(spec, record))


def model_card(spec: ModelSpec, record: dict) -> str:
    """A short model card in the spirit of Dolly's: what it is, how it was made, how it scores."""
    evaluation = record["evaluation"]
    categories = ", ".join(f"{name} {count}" for name, count in record["train_categories"].items())
    return f"""# {spec.name}

A tiny instruction-following GPT-NeoX trained from scratch for the book *Dolly at every size*.
It has Dolly 2.0's architecture (rotary embeddings on {spec.rotary_pct:.0%} of each head, parallel
residual, untied embeddings) and Dolly's prompt format, at a size that runs anywhere. It knows
only the facts of its training data; it is a teaching model, not a useful assistant.

| | |
|---|---|
| parameters | {spec.n_params:,} |
| layers / hidden size / heads | {spec.num_layers} / {spec.hidden_size} / {spec.num_heads} |
| vocabulary / context | {spec.vocab_size} byte-level BPE tokens / {spec.context_length} tokens |
| training data | {record["train_records"]:,} generated instruction records ({categories}) |
| training | {record["steps"]} steps of {record["batch_size"]} records, AdamW, peak learning rate {record["learning_rate"]}, loss on the response only |
| training time | {record["seconds"]:.0f} s on {record["machine"]} (torch {record["torch"]}) |
| held-out exact match | {evaluation["exact_match"]:.1%} of {evaluation["n_questions"]} unseen questions |
| held-out answer match | {evaluation["answer_match"]:.1%} (the key fact appears in the answer) |

Rebuild with `python -m dolly_helpers.tiny train`; score with `python -m dolly_helpers.tiny evaluate`.
Licence: MIT, like Dolly's weights.
"""


def _scores(evaluation: Evaluation) -> str:
    return f"held-out exact {evaluation.exact_match:.1%}, answer {evaluation.answer_match:.1%}"
