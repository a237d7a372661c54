"""Loading models offline, and the clear errors when a model cannot be had."""

import pytest
import torch

from dolly_helpers import DEFAULT_MODEL, ModelNotAvailableError, get_spec, load_model
from dolly_helpers.hardware import Hardware


def test_tiny_models_load_offline_in_fp32_on_the_cpu(tiny_models):
    for name, loaded in tiny_models.items():
        spec = get_spec(name)
        assert loaded.dtype == torch.float32 and loaded.device == "cpu"
        assert sum(p.numel() for p in loaded.model.parameters()) == spec.n_params
        assert loaded.weights_gb == pytest.approx(spec.n_params * 4 / 1e9, rel=0.01)
        assert loaded.load_seconds > 0


def test_tiny_models_have_dollys_architecture(model):
    config = model.model.config
    assert config.model_type == "gpt_neox"
    assert config.use_parallel_residual and not config.tie_word_embeddings
    assert config.rope_parameters["partial_rotary_factor"] == 0.25


def test_end_key_is_one_special_token(model):
    assert model.end_token_id is not None
    assert model.tokenizer.convert_ids_to_tokens(model.end_token_id) == "### End"
    assert model.tokenizer.padding_side == "left"


def test_summary_names_the_model_and_its_cost(model):
    text = str(model)
    assert text.startswith("tiny-dolly-large: 6.84 M parameters, float32 on cpu")
    assert "loaded in" in text


def test_explicit_dtype_is_honoured():
    loaded = load_model("tiny-dolly-small", dtype="bf16")
    assert loaded.dtype == torch.bfloat16
    assert next(loaded.model.parameters()).dtype == torch.bfloat16


def test_a_saved_folder_loads_by_path(tmp_path, model):
    model.model.save_pretrained(tmp_path / "my-dolly")
    model.tokenizer.save_pretrained(tmp_path / "my-dolly")
    loaded = load_model(tmp_path / "my-dolly")
    assert loaded.spec.family == "local" and loaded.name == "my-dolly"
    assert loaded.spec.n_params == sum(p.numel() for p in loaded.model.parameters())


def test_real_dolly_offline_without_a_copy_says_so_in_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelNotAvailableError) as error:
        load_model("dolly-v2-3b")
    message = str(error.value)
    assert "\n" not in message
    assert "dolly-v2-3b" in message and DEFAULT_MODEL in message


def test_unknown_model_is_a_one_line_error():
    with pytest.raises(ValueError, match="unknown model 'dolly-v9'"):
        load_model("dolly-v9")


def test_eight_bit_needs_a_gpu():
    with pytest.raises(ValueError, match="8-bit loading needs a CUDA GPU"):
        load_model("tiny-dolly-small", load_in_8bit=True)


def test_a_converted_safetensors_copy_is_loaded_instead_of_the_hub(tmp_path, monkeypatch):
    import shutil

    from dolly_helpers import sources

    copy = tmp_path / "dolly-v2-3b"
    shutil.copytree(get_spec("tiny-dolly-small").local_path, copy)
    monkeypatch.setattr(sources, "local_safetensors_copy", lambda name: tmp_path / name)
    spec, source, revision = sources.resolve_source("dolly-v2-3b")
    assert (spec.name, source, revision) == ("dolly-v2-3b", str(copy), None)
    spec, source, revision = sources.resolve_source("dolly-v2-7b")  # no copy: the pinned Hub revision
    assert (source, revision) == (spec.hub_id, spec.revision)


def test_converting_a_model_that_was_never_downloaded_is_a_one_line_error(capsys, monkeypatch, tmp_path):
    from dolly_helpers.cli import main

    monkeypatch.setenv("HF_HOME", str(tmp_path))
    assert main(["convert", "dolly-v2-12b"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: databricks/dolly-v2-12b at revision") and "\n" not in err


def test_a_dolly_size_on_one_named_gpu_stays_on_that_gpu(monkeypatch):
    from dolly_helpers import loading

    seen = {}

    def capture(spec, source, options):
        seen.update(options)
        raise RuntimeError("captured")

    monkeypatch.setattr(loading, "check_downloadable", lambda spec: None)
    monkeypatch.setattr(loading, "_from_pretrained", capture)
    monkeypatch.setattr(loading, "resolve_dtype", lambda spec, hardware, dtype: torch.bfloat16)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # two GPUs, as far as the check can tell
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(loading, "detect_hardware", lambda: Hardware("cuda", "two GPUs", 80.0, True, 128.0))
    with pytest.raises(RuntimeError, match="captured"):
        load_model("dolly-v2-3b", device="cuda:1")
    assert seen["device_map"] == {"": "cuda:1"}
