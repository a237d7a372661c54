"""Bad input gets a clear one-line error and nothing is lost: through the API and the CLI.

Each case asserts the message itself. Through the CLI (``main`` is what ``python -m
dolly_helpers`` runs; a few cases also run as a real subprocess) every failure is exactly one
``error: ...`` line on stderr, no traceback, exit 2 for a mistake in the command and 1 for what
this machine cannot do. No real Dolly size is ever loaded: hardware is monkeypatched.
"""

import re
import shutil
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import pytest

import dolly_helpers.loading as loading
import dolly_helpers.memory as memory
import dolly_helpers.sources as sources
from dolly_helpers import (
    DEFAULT_MODEL,
    ContextTruncatedWarning,
    ModelDoesNotFitError,
    ModelFolderError,
    ModelNotAvailableError,
    UnknownModelError,
    build_prompt,
    generate,
    get_spec,
    load_model,
    plan_memory,
    stream_generate,
)
from dolly_helpers.cli import main
from dolly_helpers.decoding import DecodingSettings
from dolly_helpers.hardware import Hardware

REPO_ROOT = Path(__file__).resolve().parents[1]
ALL_NAMES = (
    "tiny-pythia-small, tiny-pythia-medium, tiny-pythia-large, tiny-dolly-small, tiny-dolly-medium, "
    "tiny-dolly-large, pythia-2.8b, pythia-6.9b, pythia-12b, dolly-v2-3b, dolly-v2-7b, dolly-v2-12b"
)
JAPAN = "What is the highest mountain in Japan?"
FUJI_PASSAGE = "Mount Fuji is 3,776 metres tall. " * 40  # about 400 tokens: more than the window

T4 = Hardware(device="cuda", name="Tesla T4", memory_gb=16.0, bf16=False, host_ram_gb=64.0)
T4_LITTLE_RAM = Hardware(device="cuda", name="Tesla T4", memory_gb=16.0, bf16=False, host_ram_gb=12.0)
CPU_64GB = Hardware(device="cpu", name="test CPU", memory_gb=64.0, bf16=False, host_ram_gb=64.0)
CPU_16GB = Hardware(device="cpu", name="test CPU", memory_gb=16.0, bf16=False, host_ram_gb=16.0)


def cli(argv, capsys):
    """Run the CLI in-process; return (status, stdout, the one stderr line) after checking it is one."""
    status = main(argv)
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    return status, captured.out, lines[0]


@pytest.fixture
def tiny_cli(monkeypatch, model):
    """The CLI's ``ask`` gets the session's tiny-dolly-large instead of loading it again."""
    real = loading.load_model

    def load(name, **options):
        return model if name == DEFAULT_MODEL else real(name, **options)

    monkeypatch.setattr(loading, "load_model", load)


def count_tokens(model, text):
    return len(model.tokenizer(text)["input_ids"])


# --- 1. an unknown model name ---------------------------------------------------------------

UNKNOWN_13B = f"unknown model 'dolly-v2-13b': did you mean 'dolly-v2-12b'? choose one of: {ALL_NAMES}"


@pytest.mark.parametrize(
    "call",
    [
        lambda: get_spec("dolly-v2-13b"),
        lambda: load_model("dolly-v2-13b"),
        lambda: plan_memory("dolly-v2-13b", gpu="T4"),
        lambda: generate("dolly-v2-13b", JAPAN),
        lambda: list(stream_generate("dolly-v2-13b", JAPAN)),
    ],
    ids=["get_spec", "load_model", "plan_memory", "generate", "stream_generate"],
)
def test_unknown_model_suggests_the_closest_and_lists_all(call):
    with pytest.raises(UnknownModelError) as error:
        call()
    assert str(error.value) == UNKNOWN_13B
    assert isinstance(error.value, ValueError)  # what callers caught before


@pytest.mark.parametrize(
    "name, suggestion",
    [
        ("databricks/dolly-v2-3b", "dolly-v2-3b"),  # a Hub id: the book's name for it
        ("Dolly-V2-7B", "dolly-v2-7b"),
        ("tiny-dolly-larg", "tiny-dolly-large"),
        ("dolly-v3-70b", "dolly-v2-12b"),  # the nearest size, not the nearest spelling
    ],
)
def test_close_names_get_a_suggestion(name, suggestion):
    with pytest.raises(UnknownModelError, match=re.escape(f"did you mean {suggestion!r}?")):
        get_spec(name)


def test_a_name_like_nothing_gets_only_the_list():
    with pytest.raises(UnknownModelError) as error:
        get_spec("gpt2")
    assert str(error.value) == f"unknown model 'gpt2': choose one of: {ALL_NAMES}"


def test_a_loaded_model_is_needed_not_its_name():
    with pytest.raises(TypeError) as error:
        generate(DEFAULT_MODEL, JAPAN)
    assert str(error.value) == (
        "generate needs a loaded model, got the name 'tiny-dolly-large': load it first, "
        "e.g. model = load_model('tiny-dolly-large')"
    )


@pytest.mark.parametrize(
    "argv",
    [["ask", JAPAN, "--model", "dolly-v2-13b"], ["plan", "dolly-v2-13b"], ["convert", "dolly-v2-13b"]],
)
def test_cli_unknown_model(capsys, argv):
    status, out, err = cli(argv, capsys)
    assert (status, out, err) == (2, "", f"error: {UNKNOWN_13B}")


# --- 2. the instruction and the context -------------------------------------------------------

EMPTY = "instruction is empty: pass the question or task as a non-empty string"


@pytest.mark.parametrize("instruction", ["", "   ", "\n\t"])
def test_empty_instruction(model, instruction):
    for call in (
        lambda: build_prompt(instruction),
        lambda: generate(model, instruction),
        lambda: list(stream_generate(model, instruction)),
    ):
        with pytest.raises(ValueError) as error:
            call()
        assert str(error.value) == EMPTY


@pytest.mark.parametrize(
    "instruction, message",
    [
        (42, "instruction must be a string or a list of strings, got int 42: pass the question or task as text"),
        (None, "instruction is None: pass the question or task as a string"),
        (b"What is Fuji?", "instruction is bytes, not text: decode it first, e.g. .decode('utf-8')"),
    ],
)
def test_non_string_instruction_is_a_type_error(model, instruction, message):
    with pytest.raises(TypeError) as error:
        generate(model, instruction)
    assert str(error.value) == message


@pytest.mark.parametrize(
    "instruction, message",
    [
        (42, "instruction must be a string, got int 42: pass the question or task as text"),
        (None, "instruction is None: pass the question or task as a string"),
        (b"hi", "instruction is bytes, not text: decode it first, e.g. .decode('utf-8')"),
    ],
)
def test_non_string_instruction_to_the_stream_and_the_prompt(model, instruction, message):
    for call in (lambda: build_prompt(instruction), lambda: list(stream_generate(model, instruction))):
        with pytest.raises(TypeError) as error:
            call()
        assert str(error.value) == message


def test_a_bad_item_in_a_list_is_named_by_position(model):
    with pytest.raises(TypeError) as error:
        generate(model, [JAPAN, 42, JAPAN])
    assert str(error.value) == "instruction 2 of 3 must be a string, got int 42: pass the question or task as text"
    with pytest.raises(ValueError, match="^instruction 3 of 3 is empty: "):
        generate(model, [JAPAN, JAPAN, " "])


def test_non_string_context_is_a_type_error(model):
    with pytest.raises(TypeError) as error:
        generate(model, JAPAN, context=42)
    assert str(error.value) == "context must be a string or None, got int 42: pass the passage as text"
    with pytest.raises(TypeError, match="^context 2 of 2 is bytes, not text"):
        generate(model, [JAPAN, JAPAN], context=["Fuji.", b"Fuji."])


def test_an_instruction_alone_too_long_is_refused_with_token_counts(model):
    instruction = "word " * 300
    prompt_tokens = count_tokens(model, build_prompt(instruction))
    assert prompt_tokens > 256
    expected = (
        f"instruction is too long for tiny-dolly-large: its prompt takes {prompt_tokens} tokens and "
        "tiny-dolly-large reads 256 in all, prompt and answer together: shorten it by at least "
        f"{prompt_tokens + 64 - 256} tokens to leave room for max_new_tokens=64"
    )
    for call in (lambda: generate(model, instruction), lambda: list(stream_generate(model, instruction))):
        with pytest.raises(ValueError) as error:
            call()
        assert str(error.value) == expected


def test_a_too_long_passage_is_cut_with_a_one_line_warning(model):
    passage_tokens = len(model.tokenizer(FUJI_PASSAGE, add_special_tokens=False)["input_ids"])
    with pytest.warns(ContextTruncatedWarning) as caught:
        result = generate(model, JAPAN, context=FUJI_PASSAGE)
    [warning] = caught
    message = str(warning.message)
    assert "\n" not in message
    match = re.fullmatch(
        r"context cut by (\d+) of its (\d+) tokens to fit tiny-dolly-large's 256-token window "
        r"\((\d+) prompt tokens \+ max_new_tokens=64\): shorten the passage or lower max_new_tokens "
        r"to keep all of it",
        message,
    )
    assert match, message
    cut, total, prompt_tokens = map(int, match.groups())
    assert total == passage_tokens and 0 < cut < total
    assert result.prompt_tokens == prompt_tokens and prompt_tokens + 64 <= 256
    assert FUJI_PASSAGE.startswith(result.context)  # the result holds the passage the model read
    assert len(model.tokenizer(result.context, add_special_tokens=False)["input_ids"]) == total - cut


def test_a_passage_that_fits_is_left_alone(model):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning at all
        result = generate(model, JAPAN, context="Mount Fuji is 3,776 metres tall.")
    assert result.context == "Mount Fuji is 3,776 metres tall."


def test_in_a_batch_only_the_long_passage_is_cut_and_named(model):
    with pytest.warns(ContextTruncatedWarning, match="^context 2 of 2 cut by "):
        short, long = generate(model, [JAPAN, JAPAN], context=["Fuji is tall.", FUJI_PASSAGE])
    assert short.context == "Fuji is tall." and len(long.context) < len(FUJI_PASSAGE)


def test_the_stream_cuts_the_passage_the_same_way(model):
    with pytest.warns(ContextTruncatedWarning, match="^context cut by "):
        streamed = "".join(stream_generate(model, JAPAN, context=FUJI_PASSAGE)).strip()
    with pytest.warns(ContextTruncatedWarning):
        assert streamed == generate(model, JAPAN, context=FUJI_PASSAGE).response


def test_cli_instruction_mistakes(capsys, tiny_cli, model):
    assert cli(["ask", "   "], capsys) == (2, "", f"error: {EMPTY}")
    long_instruction = "word " * 300
    prompt_tokens = count_tokens(model, build_prompt(long_instruction))
    status, out, err = cli(["ask", long_instruction], capsys)
    assert (status, out) == (2, "")
    assert err.startswith(f"error: instruction is too long for tiny-dolly-large: its prompt takes {prompt_tokens} tokens")
    status, out, err = cli(["ask"], capsys)
    assert status == 2 and err == (
        "error: the following arguments are required: INSTRUCTION (see python -m dolly_helpers ask --help)"
    )


def test_cli_cuts_a_long_passage_with_one_warning_line(capsys, tiny_cli, model):
    status, out, err = cli(["ask", JAPAN, "--context", FUJI_PASSAGE], capsys)
    assert status == 0
    assert re.fullmatch(r"warning: context cut by \d+ of its \d+ tokens to fit tiny-dolly-large's .*", err)


# --- 3. decoding settings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "options, error_type, message",
    [
        ({"max_new_tokens": 0}, ValueError, "max_new_tokens must be at least 1, got 0: e.g. max_new_tokens=64"),
        ({"max_new_tokens": -5}, ValueError, "max_new_tokens must be at least 1, got -5: e.g. max_new_tokens=64"),
        ({"max_new_tokens": 64.0}, TypeError, "max_new_tokens must be a whole number, got float 64.0: e.g. max_new_tokens=64"),
        ({"max_new_tokens": "64"}, TypeError, "max_new_tokens must be a whole number, got str '64': e.g. max_new_tokens=64"),
        ({"max_new_tokens": True}, TypeError, "max_new_tokens must be a whole number, got bool True: e.g. max_new_tokens=64"),
        ({"temperature": -0.5}, ValueError, "temperature must not be negative, got -0.5: sample with one above 0"),
        ({"temperature": "hot"}, TypeError, "temperature must be a number, got str 'hot': e.g. temperature=0.7"),
        ({"temperature": float("nan")}, ValueError, "temperature must be a finite number, got nan: e.g. temperature=0.7"),
        ({"do_sample": True, "temperature": 0}, ValueError, "temperature=0 cannot be sampled from: pass a temperature above 0"),
        ({"top_p": 0}, ValueError, "top_p must be above 0 and at most 1, got 0: it is the share of probability sampled from"),
        ({"top_p": 1.5}, ValueError, "top_p must be above 0 and at most 1, got 1.5:"),
        ({"top_p": None}, TypeError, "top_p must be a number, got NoneType None: e.g. top_p=0.92"),
        ({"top_k": -1}, ValueError, "top_k must be at least 0, got -1: e.g. top_k=0"),
        ({"do_sample": "yes"}, TypeError, "do_sample must be True or False, got str 'yes'"),
        ({"seed": -1}, ValueError, "seed must be at least 0, got -1: e.g. seed=0"),
        ({"seed": 2**40}, ValueError, "seed must be at most 4,294,967,295, got 1,099,511,627,776: e.g. seed=0"),
        ({"seed": 1.5}, TypeError, "seed must be a whole number, got float 1.5: e.g. seed=0"),
    ],
)
def test_decoding_settings_are_checked_in_one_place(model, options, error_type, message):
    calls = {
        "DecodingSettings": lambda: DecodingSettings(**options),
        "generate": lambda: generate(model, JAPAN, **options),
        "stream_generate": lambda: list(stream_generate(model, JAPAN, **options)),
    }
    for call in calls.values():
        with pytest.raises(error_type) as error:
            call()
        assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_batch_size_is_checked(model):
    with pytest.raises(ValueError) as error:
        generate(model, [JAPAN], batch_size=0)
    assert str(error.value) == "batch_size must be at least 1, got 0: e.g. batch_size=8"


def test_max_new_tokens_beyond_the_window_is_refused_not_clamped(model):
    with pytest.raises(ValueError) as error:
        generate(model, JAPAN, max_new_tokens=100_000)
    assert str(error.value) == (
        "max_new_tokens=100000 is more than the 256 tokens tiny-dolly-large reads in all, prompt and "
        "answer together: pass a smaller max_new_tokens, e.g. 64"
    )
    room = 256 - count_tokens(model, build_prompt(JAPAN))
    with pytest.raises(ValueError) as error:
        list(stream_generate(model, JAPAN, max_new_tokens=room + 1))
    assert str(error.value) == (
        f"max_new_tokens={room + 1} does not fit after the instruction: its prompt takes {256 - room} of "
        f"the 256 tokens tiny-dolly-large reads, which leaves {room} for the answer: "
        f"pass max_new_tokens={room} or less, or shorten the instruction"
    )
    assert generate(model, JAPAN, max_new_tokens=room).response  # exactly the room left is fine


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--max-new-tokens", "0"], "error: max_new_tokens must be at least 1, got 0: e.g. max_new_tokens=64"),
        (["--max-new-tokens", "100000"], "error: max_new_tokens=100000 is more than the 256 tokens tiny-dolly-large reads"),
        (["--max-new-tokens", "abc"], "error: argument --max-new-tokens: invalid int value: 'abc' (see python -m dolly_helpers ask --help)"),
        (["--temperature", "-1"], "error: temperature must not be negative, got -1:"),
        (["--temperature", "warm"], "error: argument --temperature: invalid float value: 'warm'"),
        (["--temperature", "inf"], "error: temperature must be a finite number, got inf"),
        (["--top-p", "0"], "error: top_p must be above 0 and at most 1, got 0:"),
        (["--top-p", "1.5"], "error: top_p must be above 0 and at most 1, got 1.5:"),
        (["--seed", "-1"], "error: seed must be at least 0, got -1: e.g. seed=0"),
    ],
)
def test_cli_decoding_mistakes_exit_2(capsys, monkeypatch, model, flags, message):
    loads = []
    monkeypatch.setattr(loading, "load_model", lambda name, **options: loads.append(name) or model)
    status, out, err = cli(["ask", JAPAN, *flags], capsys)
    assert (status, out) == (2, "")
    assert err.startswith(message)
    # Checked before loading, except what needs the model's window.
    assert loads == (["tiny-dolly-large"] if "100000" in flags else [])


def test_the_playground_refuses_the_same_settings(tiny_models):
    pytest.importorskip("ipywidgets")
    from dolly_helpers.playground import Playground

    loads = []
    playground = Playground(["tiny-dolly-large"], loader=lambda name: loads.append(name) or tiny_models[name],
                            passage="off", seed=-1)  # fmt: skip
    playground.instruction.value = JAPAN
    assert playground.generate().empty
    assert "seed must be at least 0, got -1" in playground.status.value
    assert loads == []  # refused before loading anything
    playground.seed.value = 0
    playground.max_new_tokens.value = 256  # the slider's maximum: more than the window leaves
    assert playground.generate().empty
    assert "max_new_tokens=256 does not fit after the instruction" in playground.status.value


# --- 4. a model that is not here, or a damaged folder -----------------------------------------

OFFLINE = (
    "dolly-v2-3b is not in the local Hugging Face cache and the Hub cannot be reached: run once with "
    "network access to download databricks/dolly-v2-3b, or use the tiny default 'tiny-dolly-large'"
)


def test_a_real_dolly_offline_without_a_copy(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # no converted copy either
    with pytest.raises(ModelNotAvailableError) as error:
        load_model("dolly-v2-3b")
    assert str(error.value) == OFFLINE
    assert cli(["ask", JAPAN, "--model", "dolly-v2-3b"], capsys) == (1, "", f"error: {OFFLINE}")


def _broken_copy(tmp_path, damage):
    folder = tmp_path / "my-dolly"
    shutil.copytree(get_spec("tiny-dolly-small").local_path, folder)
    damage(folder)
    return folder


def _truncate(folder):
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100_000])


def _garble(folder):
    (folder / "model.safetensors").write_bytes(b"\x89PNG not weights at all" * 100)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda f: (f / "config.json").unlink(),
         "has no config.json: it is not a saved model (save one with model.save_pretrained(folder) "
         "and tokenizer.save_pretrained(folder))"),
        (lambda f: (f / "model.safetensors").unlink(),
         "has no weights (model.safetensors or pytorch_model.bin): save them with "
         "model.save_pretrained(folder), or copy the folder again"),
        (lambda f: (f / "tokenizer.json").unlink(),
         "has no tokenizer (tokenizer.json): save it next to the weights with tokenizer.save_pretrained(folder)"),
        (_truncate, r"has a corrupt model.safetensors (truncated: 100,000 of 927,648 bytes): save or copy the model again"),
        (_garble, "has a corrupt model.safetensors (not a safetensors file: its header is garbage): "
                  "save or copy the model again"),
        (lambda f: (f / "config.json").write_text("{not json"),
         "has a damaged config.json (Expecting property name enclosed in double quotes: line 1 column 2 "
         "(char 1)): save or copy the model again"),
    ],
    ids=["no-config", "no-weights", "no-tokenizer", "truncated", "garbage", "bad-config"],
)
def test_a_damaged_model_folder_names_the_folder_and_the_file(capsys, tmp_path, damage, message):
    folder = _broken_copy(tmp_path, damage)
    if "truncated" in message:
        total = (get_spec("tiny-dolly-small").local_path / "model.safetensors").stat().st_size
        message = message.replace("927,648", f"{total:,}")
    expected = f"model folder {folder} {message}"
    with pytest.raises(ModelFolderError) as error:
        load_model(folder)
    assert str(error.value) == expected
    assert isinstance(error.value, ValueError)
    assert cli(["ask", JAPAN, "--model", str(folder)], capsys) == (1, "", f"error: {expected}")


def test_a_missing_folder_and_a_file_are_named(capsys, tmp_path):
    with pytest.raises(ModelFolderError) as error:
        load_model(tmp_path / "nowhere")
    assert str(error.value) == (
        f"model folder {str(tmp_path / 'nowhere')!r} does not exist: check the path, "
        f"or pass a model name (choose one of: {ALL_NAMES})"
    )
    weights = _broken_copy(tmp_path, lambda f: None) / "model.safetensors"
    status, out, err = cli(["ask", JAPAN, "--model", str(weights)], capsys)
    assert (status, err) == (1, f"error: {weights} is a file, not a model folder: pass the folder that holds it and config.json")


def test_a_folder_whose_weights_do_not_match_its_config(tmp_path):
    folder = _broken_copy(
        tmp_path,
        lambda f: shutil.copy(get_spec("tiny-dolly-large").local_path / "config.json", f / "config.json"),
    )
    with pytest.raises(ModelFolderError) as error:
        load_model(folder)
    assert str(error.value) == (
        f"model folder {folder} could not be loaded: the shapes of its weights do not match its "
        "config.json; save or copy the model again"
    )


# --- 5. a model that does not fit ---------------------------------------------------------------


class _Loaded(Exception):
    """Raised where the real load would start: the check let the model through."""


@pytest.fixture
def machine(monkeypatch):
    """Pretend to be a given machine, with every Dolly size downloadable and no real load."""

    def use(hardware):
        monkeypatch.setattr(memory, "detect_hardware", lambda: hardware)
        monkeypatch.setattr(loading, "detect_hardware", lambda: hardware)
        monkeypatch.setattr(sources, "is_downloadable", lambda spec: True)

        def reached(spec, source, options):
            raise _Loaded(options.get("device_map"))

        monkeypatch.setattr(loading, "_from_pretrained", reached)

    return use


def test_12b_on_a_t4_is_refused_before_loading_with_the_plans_advice(machine):
    machine(T4)
    with pytest.raises(ModelDoesNotFitError) as error:
        load_model("dolly-v2-12b")
    message = str(error.value)
    assert message.startswith("dolly-v2-12b does not fit the Tesla T4 in float16: it needs 26.01 GB of 16.00 GB. Options: ")
    assert "dolly-v2-7b, which needs 15.43 GB" in message and "8-bit" in message  # smaller size, 8-bit
    assert message.endswith("; to load it anyway with CPU offload, pass allow_offload=True (ask --allow-offload)")
    assert "\n" not in message


def test_allow_offload_loads_it_with_a_warning_when_host_ram_suffices(machine):
    machine(T4)
    with pytest.warns(UserWarning, match="^dolly-v2-12b does not fit the Tesla T4: about 10.0 GB of it stays in host RAM"):
        with pytest.raises(_Loaded, match="auto"):  # device_map="auto" spills to the CPU
            load_model("dolly-v2-12b", allow_offload=True)


def test_offload_is_not_offered_when_host_ram_is_too_small(machine):
    machine(T4_LITTLE_RAM)
    for allow_offload in (False, True):
        with pytest.raises(ModelDoesNotFitError) as error:
            load_model("dolly-v2-12b", allow_offload=allow_offload)
        assert str(error.value).endswith(
            "; but not on this machine: offloading needs about 41.2 GB of host RAM and it has 12.0 GB"
        )


def test_a_size_that_fits_the_gpu_loads_without_asking(machine):
    machine(T4)
    with pytest.raises(_Loaded):
        load_model("dolly-v2-3b")


def test_no_gpu_and_enough_ram_offers_the_cpu(machine):
    machine(CPU_64GB)
    with pytest.raises(ModelDoesNotFitError) as error:
        load_model("dolly-v2-12b")
    assert str(error.value) == (
        "no GPU here: dolly-v2-12b would run on the CPU, slowly (dolly-v2-12b fits this machine's RAM "
        "in bfloat16: it needs 25.26 GB of 64.00 GB; loading it takes about 56.23 GB of host RAM): "
        "pass allow_offload=True (ask --allow-offload) to run it anyway, or use the tiny default 'tiny-dolly-large'"
    )
    with pytest.raises(_Loaded):
        load_model("dolly-v2-12b", allow_offload=True)


def test_no_gpu_and_too_little_ram_is_refused_outright(machine):
    machine(CPU_16GB)
    for allow_offload in (False, True):
        with pytest.raises(ModelDoesNotFitError) as error:
            load_model("dolly-v2-12b", allow_offload=allow_offload)
        message = str(error.value)
        assert message.startswith("no GPU here, and dolly-v2-12b does not fit this machine's RAM in bfloat16")
        assert "a machine with more RAM, or a CUDA GPU" in message and "allow_offload" not in message


def test_cli_does_not_fit_exits_1(capsys, machine):
    machine(T4)
    status, out, err = cli(["ask", JAPAN, "--model", "dolly-v2-12b"], capsys)
    assert (status, out) == (1, "")
    assert err.startswith("error: dolly-v2-12b does not fit the Tesla T4 in float16")
    assert err.endswith("pass allow_offload=True (ask --allow-offload)")
    machine(CPU_16GB)
    status, out, err = cli(["ask", JAPAN, "--model", "dolly-v2-12b", "--allow-offload"], capsys)
    assert status == 1 and err.startswith("error: no GPU here, and dolly-v2-12b does not fit")


# --- the CLI as a whole -------------------------------------------------------------------------


def test_ctrl_c_prints_interrupted_and_exits_130(capsys, monkeypatch, tiny_cli):
    import dolly_helpers.generation as generation

    def interrupted(*args, **kwargs):
        yield "The highest"
        raise KeyboardInterrupt

    monkeypatch.setattr(generation, "stream_generate", interrupted)
    status, out, err = cli(["ask", JAPAN], capsys)
    assert (status, out, err) == (130, "The highest\n", "interrupted")


def test_debug_shows_the_traceback(capsys):
    for argv in (["--debug", "plan", "dolly-v2-13b"], ["plan", "dolly-v2-13b", "--debug"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("Traceback (most recent call last):")
        assert err.splitlines()[-1] == f"error: {UNKNOWN_13B}"


def test_an_unforeseen_error_is_one_line_naming_its_type(capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("CUDA error: device-side assert triggered\nmore detail")

    monkeypatch.setattr(loading, "load_model", broken)
    assert cli(["ask", JAPAN], capsys) == (
        1, "", "error: RuntimeError: CUDA error: device-side assert triggered more detail "
               "(rerun with --debug for the traceback)",
    )


def test_an_error_inside_the_streaming_thread_is_raised_not_hung(model, monkeypatch):
    def broken_generate(**kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(model.model, "generate", broken_generate)
    outcome = []

    def consume():
        try:
            list(stream_generate(model, JAPAN))
        except RuntimeError as error:
            outcome.append(str(error))

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    reader.join(timeout=60)
    assert not reader.is_alive() and outcome == ["out of memory"]


@pytest.mark.parametrize(
    "argv, status, line",
    [
        (["ask", JAPAN, "--model", "dolly-v2-13b"], 2, f"error: {UNKNOWN_13B}"),
        (["ask", "  "], 2, f"error: {EMPTY}"),
        (["ask", JAPAN, "--top-p", "2"], 2, "error: top_p must be above 0 and at most 1, got 2:"),
        (["ask", JAPAN, "--model", "dolly-v2-3b"], 1, f"error: {OFFLINE}"),
    ],
)
def test_python_dash_m_prints_one_line_and_no_traceback(tmp_path, argv, status, line):
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path), "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "dolly_helpers", *argv], capture_output=True, text=True, cwd=REPO_ROOT, env=env
    )
    assert done.returncode == status
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith(line), done.stderr


# --- devices: a device this machine lacks is one line, before anything loads -------------------

def test_a_gpu_asked_for_without_cuda_is_one_line_before_loading(monkeypatch):
    import torch

    from dolly_helpers import load_model

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError) as raised:
        load_model("tiny-dolly-small", device="cuda")
    message = str(raised.value)
    assert message.startswith("device='cuda' asks for a CUDA GPU, but ") and "pass device='cpu'" in message
    assert "\n" not in message and "AssertionError" not in message


@pytest.mark.parametrize(("device", "start"), [
    ("gpu", "unknown device 'gpu': pass 'auto', 'cpu', 'cuda'"),
    ("cuda:first", "device='cuda:first' is not a GPU name"),
    (0, "device must be a string such as 'auto'"),
])
def test_a_device_that_names_nothing_is_one_line(device, start):
    from dolly_helpers.hardware import resolve_device

    with pytest.raises((ValueError, TypeError)) as raised:
        resolve_device(device, CPU_16GB)
    assert str(raised.value).startswith(start) and "\n" not in str(raised.value)


def test_a_gpu_number_past_the_last_and_a_missing_mps_are_one_line(monkeypatch):
    import torch

    from dolly_helpers.hardware import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("cuda:0", CPU_16GB) == "cuda:0" and resolve_device(" CUDA ", CPU_16GB) == "cuda"
    with pytest.raises(ValueError, match=r"^device='cuda:3' asks for GPU 3, but this machine has 1 \(cuda:0 to cuda:0\)"):
        resolve_device("cuda:3", CPU_16GB)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"^device='mps' asks for Apple's GPU \(MPS\), which this machine lacks"):
        resolve_device("mps", CPU_16GB)
    assert resolve_device("auto", CPU_16GB) == "cpu"


def test_an_error_in_a_report_is_one_line_with_its_type():
    from dolly_helpers.validation import error_line

    assert error_line(ValueError("top_p is 2:\nuse 0 to 1")) == "ValueError: top_p is 2:"
    assert error_line(RuntimeError("cell 3 failed\n\nZeroDivisionError: division by zero"), last=True) == (
        "RuntimeError: ZeroDivisionError: division by zero")
    assert error_line(KeyError()) == "KeyError" and len(error_line(OSError("x" * 500))) == 300
