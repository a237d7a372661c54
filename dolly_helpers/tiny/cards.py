"""Score the shipped tiny models and write each one's model card (``README.md``).

``python -m dolly_helpers.tiny evaluate --write`` puts the scores into every model's
``training.json`` and card, so what a card says is what ``tiny evaluate`` measures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from ..loading import load_model
from ..models import get_spec
from .dataset import make_dataset
from .evaluate import SCORES, Evaluation, evaluate_model
from .family import DATA_SEED, family_names, read_training_record, write_training_record
from .multiple_choice import TASKS, suite

SCORE_TITLES = {
    "passage": "passage reading",
    "phrasing": "unseen phrasings",
    "knowledge": "knowledge from pretraining",
    "end_key": "stops with ### End",
}


def evaluate_family(names: Sequence[str] = family_names()) -> list[Evaluation]:
    """Score every named model on the held-out splits and the multiple-choice suite."""
    heldout, questions = make_dataset(DATA_SEED).heldout_by_kind, suite()
    return [evaluate_model(load_model(name), heldout, questions) for name in names]


def recorded_evaluation(name: str) -> Evaluation | None:
    """The scores ``tiny evaluate --write`` recorded for a shipped tiny model; None for any other model."""
    if get_spec(name).family != "tiny":
        return None
    recorded = read_training_record(name).get("evaluation")
    return Evaluation(**recorded) if recorded else None


def score_table(evaluations: Sequence[Evaluation]) -> str:
    """A plain-text table: one row per model, generated scores then multiple-choice accuracy."""
    columns = [*SCORES, *TASKS]
    header = f"{'model':<20}{'stage':<10}{'parameters':>11}" + "".join(f"{c:>11}" for c in columns)
    rows = [header]
    for e in evaluations:
        values = [e.scores[c] for c in SCORES] + [e.multiple_choice.get(t, float("nan")) for t in TASKS]
        rows.append(f"{e.model_name:<20}{e.stage:<10}{e.n_params:>11,}" + "".join(f"{v:>11.1%}" for v in values))
    return "\n".join(rows)


def write_cards(evaluations: Sequence[Evaluation]) -> None:
    """Record each evaluation in its model's training record, then rewrite its model card."""
    for evaluation in evaluations:
        record = read_training_record(evaluation.model_name)
        record["evaluation"] = asdict(evaluation)
        write_training_record(evaluation.model_name, record)
        folder = get_spec(evaluation.model_name).local_path
        (folder / "README.md").write_text(model_card(evaluation.model_name, record))


def model_card(name: str, record: dict) -> str:
    """A short model card in the spirit of Dolly's and Pythia's: what it is, how made, how it scores."""
    spec = get_spec(name)
    evaluation = record["evaluation"]
    if spec.stage == "base":
        what = ("A tiny GPT-NeoX pretrained from scratch on the book's mini-Pile: stage 1 of Dolly's "
                "recipe, as Pythia is for Dolly. It continues text; it was never taught to follow "
                "instructions.")  # fmt: skip
        made = f"{record['steps']} steps of {record['batch_size']} windows of {spec.context_length} tokens"
    else:
        what = (f"{spec.base_model} instruction-tuned on the book's generated records in "
                "databricks-dolly-15k's format: stage 2 of Dolly's recipe, with Dolly's prompt format, "
                "its three keys as special tokens and the loss on the response only.")  # fmt: skip
        made = (f"{record['epochs']} epochs of {record['train_records']:,} records, {record['steps']} steps of "
                f"{record['batch_size']}; {record['dropped_records']} records over the window dropped")  # fmt: skip
        if record.get("replay"):
            made += f"; {record['replay']} replayed beside them"
    scores = "\n".join(f"| {SCORE_TITLES[k]} | {v:.1%} of {evaluation['counts'][k]} |"
                       for k, v in evaluation["scores"].items())  # fmt: skip
    losses = record.get("validation_loss", {})
    if losses:
        scores = "\n".join(f"| validation loss: {k} | {v:.3f} |" for k, v in losses.items()) + "\n" + scores
    choices = "\n".join(f"| multiple choice: {task} | {acc:.1%} |" for task, acc in evaluation["multiple_choice"].items())
    return f"""# {name}

{what} It knows only what its training text told it; it is a teaching model, not a useful
assistant. Architecture as Dolly 2.0: rotary embeddings on {spec.rotary_pct:.0%} of each head,
parallel residual, untied embeddings.

| | |
|---|---|
| parameters | {record['n_params']:,} |
| layers / hidden size / heads | {spec.num_layers} / {spec.hidden_size} / {spec.num_heads} |
| vocabulary / context | {spec.vocab_size:,} byte-level BPE tokens (trained on the mini-Pile) / {spec.context_length} tokens |
| data | {record['data']} |
| training | {made}, AdamW, peak learning rate {record['learning_rate']} |
| tokens seen | {record['tokens_seen']:,} |
| training time | {record['seconds']:.0f} s on {record['machine']} (torch {record['torch']}) |
{scores}
{choices}

Scores are on held-out splits that share no passage, invented name or wording with the
training records (see `dolly_helpers/tiny/dataset.py`); multiple choice is scored by
log-likelihood, as the LM Evaluation Harness scores Dolly's benchmarks.

Rebuild with `make tiny-models`; score with `python -m dolly_helpers.tiny evaluate`.
Licence: MIT, like the book.
"""
