"""Converting a pickled checkpoint to safetensors: same weights, loadable, clear errors."""

import shutil

import pytest
import torch
from safetensors.torch import load_file

from dolly_helpers import get_spec, load_model
from dolly_helpers.convert import (
    convert_cached_model,
    convert_to_safetensors,
    has_safetensors,
    local_safetensors_copy,
)

TINY = get_spec("tiny-dolly-small").local_path


def _dolly_style_bin_folder(folder):
    """A copy of the tiny model laid out like Dolly on the Hub: one pytorch_model.bin."""
    folder.mkdir()
    for file in TINY.iterdir():
        if file.suffix != ".safetensors":
            shutil.copy(file, folder / file.name)
    state = _dolly_names(load_file(TINY / "model.safetensors"))
    torch.save(state, folder / "pytorch_model.bin")
    return state


def _dolly_names(state):
    """Dolly's checkpoints name the output layer embed_out (transformers 5 calls it lm_head)."""
    return {name.replace("lm_head.", "embed_out."): tensor for name, tensor in state.items()}


def test_round_trip_keeps_every_weight(tmp_path):
    original = _dolly_style_bin_folder(tmp_path / "bin")
    target = convert_to_safetensors(tmp_path / "bin", tmp_path / "converted")
    assert target == tmp_path / "converted"
    assert has_safetensors(target)
    assert not list(target.glob("*.bin"))
    assert (target / "tokenizer.json").is_file()
    converted = {}
    for file in target.glob("*.safetensors"):
        converted.update(load_file(file))
    converted = _dolly_names(converted)
    assert converted.keys() == original.keys()
    for name, tensor in original.items():
        assert converted[name].dtype == tensor.dtype, name
        assert torch.equal(converted[name], tensor), name


def test_converted_folder_loads_and_matches_the_original(tmp_path):
    _dolly_style_bin_folder(tmp_path / "bin")
    target = convert_to_safetensors(tmp_path / "bin", tmp_path / "converted")
    loaded = load_model(target)
    reference = load_model("tiny-dolly-small")
    ids = torch.tensor([[5, 17, 42, 99]])
    with torch.inference_mode():
        assert torch.equal(loaded.model(ids).logits, reference.model(ids).logits)


def test_a_folder_without_a_checkpoint_is_refused_in_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no checkpoint") as error:
        convert_to_safetensors(tmp_path / "empty", tmp_path / "out")
    assert "\n" not in str(error.value)
    assert not (tmp_path / "out").exists()


def test_a_config_alone_is_not_a_checkpoint(tmp_path):
    folder = tmp_path / "config-only"
    folder.mkdir()
    shutil.copy(TINY / "config.json", folder)
    with pytest.raises(ValueError, match="holds no checkpoint"):
        convert_to_safetensors(folder, tmp_path / "out")


def test_an_existing_target_is_never_overwritten(tmp_path):
    _dolly_style_bin_folder(tmp_path / "bin")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="already exists"):
        convert_to_safetensors(tmp_path / "bin", tmp_path / "taken")
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"


def test_local_copy_names_model_and_revision(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    spec = get_spec("dolly-v2-12b")
    path = local_safetensors_copy("dolly-v2-12b")
    assert path == tmp_path / "hf" / "dolly-book" / f"dolly-v2-12b-{spec.revision}"
    assert not has_safetensors(path)


def test_local_copy_falls_back_to_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HOME", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert local_safetensors_copy("dolly-v2-3b").parent == tmp_path / ".cache" / "dolly-book"


def test_local_copy_of_a_tiny_model_is_refused():
    with pytest.raises(ValueError, match="nothing to convert"):
        local_safetensors_copy("tiny-dolly-small")


def test_a_cached_hub_download_is_converted_once(monkeypatch, tmp_path):
    spec = get_spec("dolly-v2-3b")
    snapshot = tmp_path / "hub" / "models--databricks--dolly-v2-3b" / "snapshots" / spec.revision
    snapshot.parent.mkdir(parents=True)
    _dolly_style_bin_folder(snapshot)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    copy = convert_cached_model("dolly-v2-3b", cache_dir=tmp_path / "hub")
    assert copy == local_safetensors_copy("dolly-v2-3b") and has_safetensors(copy)
    (snapshot / "pytorch_model.bin").unlink()  # the second call never reads the download
    assert convert_cached_model("dolly-v2-3b", cache_dir=tmp_path / "hub") == copy


def test_converting_a_model_that_was_never_downloaded_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ValueError, match="not in the Hugging Face cache"):
        convert_cached_model("dolly-v2-12b", cache_dir=tmp_path / "empty-hub")
