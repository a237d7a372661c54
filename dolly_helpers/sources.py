"""Where a model comes from: a book name, a saved folder, a converted copy or the Hub.

:func:`resolve_source` turns what a reader passes to ``load_model`` into a spec, the place
to load from and the pinned revision; :func:`check_downloadable` says in one line, before
anything is loaded, that a Dolly size is neither cached nor downloadable here.
"""

from __future__ import annotations

import os
from pathlib import Path

from .convert import (
    ModelFolderError,
    check_model_folder,
    has_safetensors,
    local_safetensors_copy,
    spec_of_folder,
)
from .models import (
    DEFAULT_MODEL,
    ModelSpec,
    UnknownModelError,
    get_spec,
    unknown_model_message,
)


class ModelNotAvailableError(RuntimeError):
    """The weights of a requested model are neither on disk nor downloadable."""


def resolve_source(name_or_path: str | os.PathLike) -> tuple[ModelSpec, str, str | None]:
    """Return the spec, where to load from and the pinned revision of a name or folder.

    A folder is checked for its files first (:func:`check_model_folder`); so is a shipped tiny
    model and a converted safetensors copy of a Dolly size.
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(unknown_model_message(name_or_path))
    path = Path(name_or_path).expanduser()
    if (path / "config.json").is_file():
        check_model_folder(path)
        return spec_of_folder(path), str(path), None
    try:
        spec = get_spec(str(name_or_path))
    except UnknownModelError:
        if path.is_dir():
            check_model_folder(path)  # raises, naming what the folder lacks
        if path.is_file():
            raise ModelFolderError(
                f"{path} is a file, not a model folder: pass the folder that holds it and config.json"
            ) from None
        if _looks_like_a_path(name_or_path):
            raise ModelFolderError(
                f"model folder {str(name_or_path)!r} does not exist: check the path, or pass a model name "
                f"({unknown_model_message(str(name_or_path)).split(': ', 1)[1]})"
            ) from None
        raise
    if spec.local_path is not None:
        check_model_folder(spec.local_path)
        return spec, str(spec.local_path), None
    converted = local_safetensors_copy(spec.name)
    if has_safetensors(converted):  # made by `python -m dolly_helpers convert`
        check_model_folder(converted)
        return spec, str(converted), None
    return spec, spec.hub_id, spec.revision


def _looks_like_a_path(name: str | os.PathLike) -> bool:
    """A folder someone meant, not a mistyped name: a PathLike, or text with a separator or dot start.

    A Hub id such as ``databricks/dolly-v2-3b`` has a slash but is answered as an unknown name,
    with its book name suggested.
    """
    if isinstance(name, os.PathLike):
        return True
    from .models import list_models

    if any(spec.hub_id and name.strip().lower() == spec.hub_id.lower() for spec in list_models()):
        return False
    return name.startswith((".", "~")) or "/" in name or os.sep in name


def not_available_message(spec: ModelSpec) -> str:
    return (
        f"{spec.name} is not in the local Hugging Face cache and the Hub cannot be reached: "
        f"run once with network access to download {spec.hub_id}, "
        f"or use the tiny default {DEFAULT_MODEL!r}"
    )


def _hub_offline() -> bool:
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE", "").strip().lower()
    return bool(constants.HF_HUB_OFFLINE) or flag in {"1", "true", "yes", "on"}


def _hub_cache_dir() -> str | None:
    """The Hub cache as the environment says now (huggingface_hub reads it once, at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return str(Path(os.environ["HF_HOME"]) / "hub")
    return None


def is_downloadable(spec: ModelSpec) -> bool:
    """True when a Hub model is in the local cache or the Hub may be asked for it."""
    if spec.hub_id is None or not _hub_offline():
        return True
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(
        spec.hub_id, "config.json", cache_dir=_hub_cache_dir(), revision=spec.revision
    )
    return isinstance(cached, str)


def check_downloadable(spec: ModelSpec) -> None:
    """Offline with no cached copy: say so now, before planning or loading anything."""
    if not is_downloadable(spec):
        raise ModelNotAvailableError(not_available_message(spec))
