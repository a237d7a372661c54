"""A prompt playground: one question to several models at once, the answers side by side.

Chapter 9 builds one with ``Playground()`` and displays it. Choose any of the book's models,
base and tuned at every size; ask with the passage, without it, or both ways; decode greedily
or sample. Each answer streams into its own cell of a table: one row per model, one column per
way of asking. Every control maps to an argument of
:func:`~dolly_helpers.generation.stream_generate`; the memory plan of each chosen model is
shown before anything is loaded, and models load lazily, once per name.

Works in JupyterLab, Jupyter Notebook, VS Code and Colab (where ipywidgets 8 needs Colab's
custom widget manager, switched on here when the playground is built inside Colab).
"""

from __future__ import annotations

import html
import sys
import time
from collections.abc import Callable, Sequence

import ipywidgets as widgets
import pandas as pd

from .decoding import DOLLY_TOP_K, DOLLY_TOP_P, DecodingSettings
from .generation import stream_generate
from .loading import LoadedModel, load_model
from .memory import ModelDoesNotFitError, check_fits, plan_memory
from .models import DOLLY_MODELS, TINY_BASE_MODELS, TINY_MODELS, ModelSpec, get_spec
from .prompt import build_prompt, extract_response
from .sources import is_downloadable
from .validation import first_line

#: Errors a reader can cause or fix (missing download, no GPU, empty instruction, out of
#: memory). They appear as one line in the output area instead of a traceback.
READER_ERRORS = (RuntimeError, OSError, ValueError, ImportError, TypeError)

#: Every model the playground offers: the tiny family, base and tuned, then Dolly's sizes.
MODEL_CHOICES = (*TINY_BASE_MODELS, *TINY_MODELS, *DOLLY_MODELS)
#: How the passage is used: the table gets one answer column for each way of asking.
PASSAGE_MODES = {"off": ("without the passage",), "on": ("with the passage",),
                 "both": ("without the passage", "with the passage")}  # fmt: skip

_CELL_STYLE = "white-space: pre-wrap; vertical-align: top; border: 1px solid #ccc; padding: 4px 8px;"
_NOTE_STYLE = "color: #666; font-size: 85%;"
_ERROR_STYLE = "color: #b00020; font-family: var(--jp-ui-font-family, sans-serif);"
_WIDE = widgets.Layout(width="100%")
_LABELS = {"description_width": "9em"}


class Playground:
    """An ipywidgets user interface around :func:`stream_generate` for several models at once.

    Evaluate the object in a notebook cell to display it; :meth:`generate` runs what the
    Generate button runs and returns the table of answers, so a script can drive the same
    interface.
    """

    def __init__(
        self,
        models: Sequence[str] = (*TINY_BASE_MODELS, *TINY_MODELS),
        *,
        instruction: str = "",
        context: str = "",
        passage: str = "both",
        max_new_tokens: int = 64,
        sampling: bool = False,
        temperature: float = 1.0,
        top_p: float = DOLLY_TOP_P,
        top_k: int = DOLLY_TOP_K,
        seed: int = 0,
        loader: Callable[[str], LoadedModel] = load_model,
    ) -> None:
        enable_colab_widgets()
        for name in models:
            get_spec(name)  # an unknown name fails here, in one line
        self._loader = loader
        self._models: dict[str, LoadedModel] = {}
        self.answers = pd.DataFrame()  # the last table of answers

        self.instruction = widgets.Textarea(
            value=instruction, description="Instruction", placeholder="Ask a question or give a task",
            layout=_WIDE, style=_LABELS,
        )
        self.context = widgets.Textarea(
            value=context, description="Passage", placeholder="Optional passage the answer should use",
            layout=_WIDE, style=_LABELS,
        )
        self.passage = widgets.ToggleButtons(
            options=list(PASSAGE_MODES), value=passage, description="Passage used", style=_LABELS,
            tooltips=["ask without the passage", "ask with the passage", "ask both ways, side by side"],
        )
        self.model_choice = widgets.SelectMultiple(
            options=MODEL_CHOICES, value=tuple(models), rows=len(MODEL_CHOICES), description="Models",
            style=_LABELS,
        )
        self.max_new_tokens = widgets.IntSlider(
            value=max_new_tokens, min=1, max=256, description="max_new_tokens", style=_LABELS,
        )
        self.sampling = widgets.ToggleButtons(
            options=[("greedy", False), ("sampling", True)], value=sampling, description="Decoding",
            style=_LABELS,
        )
        self.temperature = widgets.FloatSlider(
            value=temperature, min=0.05, max=2.0, step=0.05, description="temperature", style=_LABELS,
        )
        self.top_p = widgets.FloatSlider(
            value=top_p, min=0.05, max=1.0, step=0.01, description="top_p", style=_LABELS,
        )
        self.top_k = widgets.IntSlider(value=top_k, min=0, max=100, description="top_k (0: off)", style=_LABELS)
        self.seed = widgets.IntText(value=seed, description="seed", style=_LABELS)
        self.generate_button = widgets.Button(description="Generate", button_style="primary", icon="play")
        self.table = widgets.HTML(layout=_WIDE)
        self.status = widgets.HTML()
        self.plan = widgets.HTML(layout=_WIDE)

        self.generate_button.on_click(lambda _button: self.generate())
        self.model_choice.observe(lambda _change: self.show_plans(), names="value")
        self.sampling.observe(lambda _change: self._enable_sampling_controls(), names="value")
        self._enable_sampling_controls()
        self.show_plans()
        self.widget = self._layout()

    # --- what the controls do -------------------------------------------------------------

    def generate(self) -> pd.DataFrame:
        """Stream every chosen model's answers into the table, each way of asking; return the table.

        The table has one row per model and one column per way of asking. A reader's mistake (an
        empty instruction, no passage to ask with, a model that cannot load here) shows as one
        line above the table and returns an empty table.
        """
        self.generate_button.disabled = True
        try:
            return self._generate()
        except READER_ERRORS as error:
            self.show_error(error)
            return pd.DataFrame()
        finally:
            self.generate_button.disabled = False

    def show_plans(self) -> pd.DataFrame:
        """Show each chosen model's memory plan on this machine, before any loading; return it."""
        rows = {}
        for name in self.model_choice.value:
            try:
                plan = plan_memory(name)
            except READER_ERRORS as error:
                rows[name] = {"needs (GB)": None, "fits here": False, "advice": first_line(error)}
                continue
            rows[name] = {"needs (GB)": round(plan.total_gb, 2), "fits here": plan.fits,
                          "advice": "" if plan.fits else plan.advice}  # fmt: skip
        plans = pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")
        self.plan.value = "<b>Memory plans on this machine</b>" + (plans.to_html(na_rep="") if rows else "")
        return plans

    def show_error(self, error: BaseException | str) -> None:
        """Put a one-line error in the status line and empty the table."""
        self.answers = pd.DataFrame()
        self.table.value = ""
        self.status.value = f"<div style='{_ERROR_STYLE}'>⚠ {html.escape(first_line(error))}</div>"

    @property
    def decoding(self) -> DecodingSettings:
        """The settings the decoding controls stand for, checked as :func:`stream_generate` checks them."""
        options = {"max_new_tokens": self.max_new_tokens.value, "seed": self.seed.value}
        if self.sampling.value:
            options.update(do_sample=True, temperature=self.temperature.value, top_p=self.top_p.value,
                           top_k=self.top_k.value)  # fmt: skip
        return DecodingSettings(**options)

    # --- the steps of one generation -----------------------------------------------------

    def _generate(self) -> pd.DataFrame:
        instruction, passage = self.instruction.value, self.context.value.strip() or None
        columns = PASSAGE_MODES[self.passage.value]
        build_prompt(instruction, passage)  # raises the one-line error for an empty instruction
        if passage is None and "with the passage" in columns:
            raise ValueError("the passage is empty: paste one into the Passage box, or set Passage used to off")
        settings = self.decoding  # the same checks as generate, before any loading
        names = list(self.model_choice.value)
        if not names:
            raise ValueError("no model chosen: pick one or more in the Models list")
        models = [self._model(name) for name in names]  # every load (or refusal) before any answer
        answers = pd.DataFrame("", index=pd.Index(names, name="model"), columns=list(columns))
        notes = pd.DataFrame("", index=answers.index, columns=answers.columns)
        for model in models:
            for column in columns:
                context = passage if column == "with the passage" else None
                self.status.value = html.escape(f"{model.name}, {column}: writing…")
                started, text = time.perf_counter(), ""
                for piece in stream_generate(model, instruction, context=context, settings=settings):
                    text += piece
                    answers.loc[model.name, column] = text.strip()
                    self._show_table(answers, notes)
                answers.loc[model.name, column] = extract_response(text)  # as generate ends it: no half-written key
                notes.loc[model.name, column] = _note(model, text, time.perf_counter() - started)
                self._show_table(answers, notes)
        self.status.value = html.escape(_settings_line(settings))
        self.answers = answers
        return answers

    def _model(self, name: str) -> LoadedModel:
        """Return model ``name``, loading it on first use (after checking that it fits)."""
        if name not in self._models:
            refusal = _refusal(get_spec(name))
            if refusal:
                raise ValueError(refusal)
            self.status.value = f"loading {html.escape(name)}…"
            self._models[name] = self._loader(name)
        return self._models[name]

    def _show_table(self, answers: pd.DataFrame, notes: pd.DataFrame) -> None:
        head = "".join(f"<th>{html.escape(column)}</th>" for column in answers.columns)
        rows = []
        for name in answers.index:
            cells = "".join(
                f"<td style='{_CELL_STYLE}'>{html.escape(answers.loc[name, column])}"
                f"<div style='{_NOTE_STYLE}'>{html.escape(notes.loc[name, column])}</div></td>"
                for column in answers.columns
            )
            rows.append(f"<tr><th style='text-align: left; vertical-align: top'>{html.escape(name)}</th>{cells}</tr>")
        self.table.value = f"<table><tr><th>model</th>{head}</tr>{''.join(rows)}</table>"

    def _enable_sampling_controls(self) -> None:
        for control in (self.temperature, self.top_p, self.top_k):
            control.disabled = not self.sampling.value

    def _layout(self) -> widgets.VBox:
        decoding = widgets.VBox([self.sampling, self.max_new_tokens, self.temperature, self.top_p, self.top_k,
                                 self.seed])  # fmt: skip
        controls = widgets.HBox([widgets.VBox([self.model_choice, self.generate_button]), decoding])
        return widgets.VBox(
            [self.instruction, self.context, self.passage, controls, self.status, self.table, self.plan],
            layout=widgets.Layout(width="100%", max_width="72em"),
        )

    # --- display -------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs) -> dict:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        return f"Playground(models={tuple(self.model_choice.value)!r})"


def _refusal(spec: ModelSpec) -> str | None:
    """Why a model should not be loaded here, or None.

    A model that does not fit is refused before a download of many gigabytes, by the same check
    as :func:`load_model`; a model that cannot be downloaded at all is left to
    :func:`load_model`, which says so in one line.
    """
    if spec.hub_id is None or not is_downloadable(spec):
        return None
    try:
        check_fits(spec.name)
    except ModelDoesNotFitError as error:
        return str(error)
    return None


def _note(model: LoadedModel, text: str, seconds: float) -> str:
    """'18 tokens, 0.12 s': the answer's tokens as streamed (without the end key) and the time."""
    tokens = len(model.tokenizer(text.strip(), add_special_tokens=False)["input_ids"])
    return f"{tokens} tokens, {seconds:.2f} s"


def _settings_line(settings: DecodingSettings) -> str:
    """'greedy, up to 64 new tokens' or 'sampled: temperature 0.70, top_p 0.92, top_k 0, seed 0, ...'."""
    limit = f"up to {settings.max_new_tokens} new tokens"
    if not settings.do_sample:
        return f"greedy, {limit}"
    return (f"sampled: temperature {settings.temperature:.2f}, top_p {settings.top_p:.2f}, "
            f"top_k {settings.top_k}, seed {settings.seed}, {limit}")  # fmt: skip


def on_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules


def enable_colab_widgets() -> None:
    """Switch on Colab's custom widget manager (needed for ipywidgets 8); elsewhere do nothing."""
    if on_colab():
        from google.colab import output

        output.enable_custom_widget_manager()
