"""dolly_helpers: everything the chapters of *Dolly at every size* call.

Chapters import names explicitly, e.g. ``from dolly_helpers import load_model, generate``.
"""

from .convert import ModelFolderError
from .generation import GenerationResult, generate, stream_generate
from .hardware import (
    Hardware,
    detect_hardware,
    environment_report,
    format_report,
    set_seed,
)
from .loading import LoadedModel, load_model
from .memory import MemoryPlan, ModelDoesNotFitError, plan_memory
from .models import (
    DEFAULT_MODEL,
    DOLLY_MODELS,
    TINY_BASE_MODELS,
    TINY_MODELS,
    ModelSpec,
    UnknownModelError,
    get_spec,
    list_models,
)
from .prompt import (
    END_KEY,
    INSTRUCTION_KEY,
    INTRO_BLURB,
    RESPONSE_KEY,
    build_prompt,
    extract_response,
)
from .sources import ModelNotAvailableError
from .validation import ContextTruncatedWarning

__all__ = [
    "ContextTruncatedWarning",
    "DEFAULT_MODEL",
    "DOLLY_MODELS",
    "END_KEY",
    "GenerationResult",
    "Hardware",
    "INSTRUCTION_KEY",
    "INTRO_BLURB",
    "LoadedModel",
    "MemoryPlan",
    "ModelDoesNotFitError",
    "ModelFolderError",
    "ModelNotAvailableError",
    "ModelSpec",
    "RESPONSE_KEY",
    "TINY_BASE_MODELS",
    "TINY_MODELS",
    "UnknownModelError",
    "build_prompt",
    "detect_hardware",
    "environment_report",
    "extract_response",
    "format_report",
    "generate",
    "get_spec",
    "list_models",
    "load_model",
    "plan_memory",
    "set_seed",
    "stream_generate",
]
