"""A prompt playground: ask any model of the book a question and watch the answer arrive.

Chapter 9 builds one with ``Playground()`` and displays it. Every control of the user interface
maps to one argument of :func:`~dolly_helpers.generation.stream_generate`; the memory plan of
the chosen model is shown before anything is loaded, and models load lazily, once per name.

Works in JupyterLab, Jupyter Notebook, VS Code and Colab (where ipywidgets 8 needs Colab's
custom widget manager, switched on here when the playground is built inside Colab).
"""

from __future__ import annotations

import html
import sys
import time
from collections.abc import Callable

import ipywidgets as widgets

from .generation import DOLLY_TOP_P, DecodingSettings, stream_generate
from .loading import LoadedModel, ModelDoesNotFitError, check_fits, is_downloadable, load_model
from .memory import MemoryPlan, plan_memory
from .models import DEFAULT_MODEL, DOLLY_MODELS, TINY_MODELS, ModelSpec, get_spec
from .prompt import build_prompt

#: Errors a reader can cause or fix (missing download, no GPU, empty instruction, out of
#: memory). They appear as one line in the output area instead of a traceback.
READER_ERRORS = (RuntimeError, OSError, ValueError, ImportError)

_ANSWER_STYLE = (
    "white-space: pre-wrap; font-family: var(--jp-code-font-family, monospace); "
    "border: 1px solid #ccc; border-radius: 4px; padding: 6px 8px; min-height: 3em;"
)
_ERROR_STYLE = "color: #b00020; font-family: var(--jp-ui-font-family, sans-serif);"
_WIDE = widgets.Layout(width="100%")
_LABELS = {"description_width": "9em"}


class Playground:
    """An ipywidgets user interface around :func:`stream_generate` (chapter 9).

    Evaluate the object in a notebook cell to display it; :meth:`generate` runs what the
    Generate button runs, so a script can drive the same interface.
    """

    def __init__(
        self,
        model_name: str = DEFAULT_MODEL,
        *,
        instruction: str = "",
        context: str = "",
        max_new_tokens: int = 64,
        temperature: float = 0.0,
        top_p: float = DOLLY_TOP_P,
        seed: int | None = None,
        loader: Callable[[str], LoadedModel] = load_model,
    ) -> None:
        enable_colab_widgets()
        self.seed = seed  # fixes sampled answers when set; None draws new ones each time
        self._loader = loader
        self._models: dict[str, LoadedModel] = {}
        self.response = ""  # the plain text of the last answer

        self.instruction = widgets.Textarea(
            value=instruction, description="Instruction", placeholder="Ask a question or give a task",
            layout=_WIDE, style=_LABELS,
        )
        self.context = widgets.Textarea(
            value=context, description="Context", placeholder="Optional passage the answer should use",
            layout=_WIDE, style=_LABELS,
        )
        self.model_choice = widgets.Dropdown(
            options=[*TINY_MODELS, *DOLLY_MODELS], value=model_name, description="Model", style=_LABELS,
        )
        self.max_new_tokens = widgets.IntSlider(
            value=max_new_tokens, min=1, max=256, description="max_new_tokens", style=_LABELS,
        )
        self.temperature = widgets.FloatSlider(
            value=temperature, min=0.0, max=2.0, step=0.05, description="temperature", style=_LABELS,
        )
        self.top_p = widgets.FloatSlider(
            value=top_p, min=0.05, max=1.0, step=0.01, description="top_p", style=_LABELS,
        )
        self.generate_button = widgets.Button(description="Generate", button_style="primary", icon="play")
        self.answer = widgets.HTML(layout=_WIDE)
        self.status = widgets.HTML()
        self.plan = widgets.HTML(layout=_WIDE)

        self.generate_button.on_click(lambda _button: self.generate())
        self.model_choice.observe(lambda _change: self.show_plan(), names="value")
        self._show_answer("")
        self.show_plan()
        self.widget = self._layout()

    # --- what the controls do -------------------------------------------------------------

    def generate(self) -> str:
        """Stream an answer to the instruction into the output area; return its text.

        A reader's mistake (an empty instruction, a model that cannot load here) shows as one
        line in the output area and returns an empty string.
        """
        self.generate_button.disabled = True
        try:
            return self._generate()
        except READER_ERRORS as error:
            self.show_error(error)
            return ""
        finally:
            self.generate_button.disabled = False

    def show_plan(self) -> MemoryPlan | None:
        """Show the memory plan of the chosen model on this machine, before any loading."""
        name = self.model_choice.value
        try:
            plan = plan_memory(name)
        except READER_ERRORS as error:
            self.plan.value = _error_html(error)
            return None
        verdict = "fits" if plan.fits else "does not fit"
        self.plan.value = f"<b>Memory plan: {html.escape(name)} {verdict} here</b>{plan._repr_html_()}"
        return plan

    def show_error(self, error: BaseException | str) -> None:
        """Put a one-line error in the output area and the status line."""
        self.response = ""
        self.answer.value = _error_html(error)
        self.status.value = "error"

    @property
    def decoding(self) -> dict:
        """The keyword arguments of :func:`stream_generate` the sliders stand for."""
        temperature = self.temperature.value
        options = {"max_new_tokens": self.max_new_tokens.value, "seed": self.seed}
        if temperature > 0:
            options.update(do_sample=True, temperature=temperature, top_p=self.top_p.value)
        return options

    # --- the steps of one generation -----------------------------------------------------

    def _generate(self) -> str:
        instruction = self.instruction.value
        context = self.context.value if self.context.value.strip() else None
        build_prompt(instruction, context)  # raises the one-line error for an empty instruction
        DecodingSettings(**self.decoding)  # the same checks as generate, before any loading
        model = self._model(self.model_choice.value)
        self._show_answer("")
        self.status.value = f"{html.escape(model.name)}: writing…"
        started = time.perf_counter()
        text = ""
        for piece in stream_generate(model, instruction, context=context, **self.decoding):
            text += piece
            self._show_answer(text.strip())
        seconds = time.perf_counter() - started
        self.response = text.strip()
        self.status.value = html.escape(_status_line(model, text, seconds, self.decoding))
        return self.response

    def _model(self, name: str) -> LoadedModel:
        """Return model ``name``, loading it on first use (after checking that it fits)."""
        if name not in self._models:
            refusal = _refusal(get_spec(name))
            if refusal:
                raise ValueError(refusal)
            self.status.value = f"loading {html.escape(name)}…"
            self._models[name] = self._loader(name)
        return self._models[name]

    def _show_answer(self, text: str) -> None:
        self.answer.value = f"<div style='{_ANSWER_STYLE}'>{html.escape(text)}</div>"

    def _layout(self) -> widgets.VBox:
        sliders = widgets.VBox([self.max_new_tokens, self.temperature, self.top_p])
        controls = widgets.HBox([widgets.VBox([self.model_choice, self.generate_button]), sliders])
        return widgets.VBox(
            [self.instruction, self.context, controls, self.answer, self.status, self.plan],
            layout=widgets.Layout(width="100%", max_width="60em"),
        )

    # --- display -------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs) -> dict:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = f"Playground(model_name={self.model_choice.value!r})"
        return bundle

    def __repr__(self) -> str:
        return f"Playground(model_name={self.model_choice.value!r})"


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


def _status_line(model: LoadedModel, text: str, seconds: float, decoding: dict) -> str:
    """'tiny-dolly-large: 18 answer tokens in 0.12 s (150.0 tokens/s), greedy'.

    The streamed text is all the playground sees, so it counts the answer's tokens; the end
    key and the blank line before it, which ``generate`` counts as well, are not included.
    """
    tokens = len(model.tokenizer(text.strip(), add_special_tokens=False)["input_ids"])
    rate = tokens / seconds if seconds > 0 else 0.0
    if decoding.get("do_sample"):
        how = f"sampled at temperature {decoding['temperature']:.2f}, top_p {decoding['top_p']:.2f}"
    else:
        how = "greedy"
    return f"{model.name}: {tokens} answer tokens in {seconds:.2f} s ({rate:,.1f} tokens/s), {how}"


def _error_html(error: BaseException | str) -> str:
    """An error as one escaped line: its first line, without a traceback."""
    lines = str(error).strip().splitlines() or [type(error).__name__]
    return f"<div style='{_ERROR_STYLE}'>⚠ {html.escape(lines[0])}</div>"


def on_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules


def enable_colab_widgets() -> None:
    """Switch on Colab's custom widget manager (needed for ipywidgets 8); elsewhere do nothing."""
    if on_colab():
        from google.colab import output

        output.enable_custom_widget_manager()
