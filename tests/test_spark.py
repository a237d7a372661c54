"""Batch inference with Spark (chapter 11): same answers as ``generate``, bad rows reported.

The tests of the Spark job itself need pyspark and Java; without them they are skipped with a
message saying what is missing. One ``local[2]`` session serves the whole test run.
"""

import contextlib
import io
import os
import subprocess
import sys
import tempfile

import pandas as pd
import pytest

from dolly_helpers import ContextTruncatedWarning, generate
from dolly_helpers.decoding import DecodingSettings
from dolly_helpers import spark as dolly_spark
from dolly_helpers import spark_rows
from dolly_helpers.java import JavaNotFoundError, find_java, parse_java_version
from dolly_helpers.questions import COMPARISON_QUESTIONS, VELTORIA
from dolly_helpers.spark import largest_batch_size
from dolly_helpers.spark_rows import RESULT_COLUMNS, answer_frame, row_problem

RESULT_NAMES = [name for name, _ in RESULT_COLUMNS]

# pytest resets warning filters for every test; these are the two pyspark notices that
# local_spark drops for the notebook (pandas 3 is newer than pyspark 4.3 declares support for).
pytestmark = [
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


# --- Java check: no Spark needed --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('java version "1.8.0_292"', 8),
        ('openjdk version "21" 2023-09-19', 21),
        ('openjdk version "11.0.2" 2019-01-15', 11),
        ("command not found", None),
    ],
)
def test_parse_java_version(text, major):
    assert parse_java_version(text) == major


def _fake_java(folder, version_line):
    """A ``bin/java`` that prints ``version_line`` to stderr, as ``java -version`` does."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True)
    java = bin_dir / "java"
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    java.chmod(0o755)
    return java


def test_find_java_without_java_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no java on it
    with pytest.raises(JavaNotFoundError) as error:
        find_java()
    message = str(error.value)
    assert "\n" not in message
    assert "no JAVA_HOME, no java on PATH" in message
    assert "apt-get install openjdk-17-jre-headless" in message


def test_find_java_with_an_empty_java_home(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(JavaNotFoundError, match=r"JAVA_HOME=.* has no bin/java: install a Java runtime"):
        find_java()


def test_find_java_rejects_a_java_too_old_for_spark(monkeypatch, tmp_path):
    _fake_java(tmp_path, 'java version "1.6.0_45"')
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(JavaNotFoundError, match=r"is Java 6: install a Java runtime"):
        find_java()


def test_find_java_accepts_a_new_enough_java(monkeypatch, tmp_path):
    java = _fake_java(tmp_path, 'openjdk version "21.0.1" 2023-10-17')
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    assert find_java() == str(java)


def test_importing_the_package_does_not_import_pyspark():
    code = "import sys, dolly_helpers, dolly_helpers.spark; assert 'pyspark' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- Rows, batches and batch sizes: no Spark needed ----------------------------------------------


@pytest.mark.parametrize(
    ("instruction", "context", "problem"),
    [
        ("What is the capital of France?", None, None),
        ("Summarize the passage.", "A passage.", None),
        ("What is the capital of France?", float("nan"), None),  # pandas' missing value
        (None, None, "instruction is missing (null)"),
        (float("nan"), None, "instruction is missing (null)"),
        ("   ", None, "instruction is empty"),
        (42, None, "instruction is not text (int)"),
        ("Summarize the passage.", 7, "context is not text (int)"),
    ],
)
def test_row_problem(instruction, context, problem):
    assert row_problem(instruction, context) == problem


def _frame(rows):
    return pd.DataFrame(rows, columns=["id", "instruction", "context"])


def test_answer_frame_matches_generate_and_reports_bad_rows(model):
    questions = COMPARISON_QUESTIONS[:6]
    rows = [(i, q.instruction, q.context) for i, q in enumerate(questions)]
    rows += [(10, None, None), (11, "  ", None), (12, "Summarize the passage.", VELTORIA * 12)]
    out = answer_frame(
        _frame(rows), lambda: model, instruction_col="instruction", context_col="context",
        batch_size=4, settings=DecodingSettings(max_new_tokens=32),
    )
    expected = generate(
        model, [q.instruction for q in questions], context=[q.context for q in questions], max_new_tokens=32
    )
    assert list(out.columns) == ["id", "instruction", "context", *RESULT_NAMES]
    assert list(out["id"]) == [row[0] for row in rows]
    assert list(out["response"][:6]) == [result.response for result in expected]
    assert list(out["new_tokens"][:6]) == [result.new_tokens for result in expected]
    assert out["error"][:6].isna().all()
    assert out["response"][6:8].isna().all()
    assert list(out["error"][6:8]) == ["instruction is missing (null)", "instruction is empty"]
    # A passage too long for the window is cut, as generate cuts it, and the row says so.
    with pytest.warns(ContextTruncatedWarning) as cut:
        expected_cut = generate(model, "Summarize the passage.", context=VELTORIA * 12, max_new_tokens=32)
    assert out["response"][8] == expected_cut.response
    assert out["error"][8] == str(cut[-1].message) and out["error"][8].startswith("context cut by ")


def test_answer_frame_seconds_are_each_rows_share_of_its_batch(model):
    rows = [(i, q.instruction, q.context) for i, q in enumerate(COMPARISON_QUESTIONS[:4])]
    out = answer_frame(
        _frame(rows), lambda: model, instruction_col="instruction", context_col="context",
        batch_size=4, settings=DecodingSettings(max_new_tokens=16),
    )
    assert out["seconds"].nunique() == 1 and out["seconds"][0] > 0  # one batch, split evenly


def test_a_failing_batch_costs_only_its_bad_row(model, monkeypatch):
    import dolly_helpers.generation as generation

    real_answer = generation.answer_requests

    def fragile_answer(model, requests, settings, **options):
        if any(request.instruction == "POISON" for request in requests):
            raise RuntimeError("CUDA out of memory.\nTried to allocate 2.00 GiB")
        return real_answer(model, requests, settings, **options)

    monkeypatch.setattr(generation, "answer_requests", fragile_answer)
    rows = [
        (0, "What is the capital of France?", None),
        (1, "POISON", None),
        (2, "What is the capital of Japan?", None),
    ]
    out = answer_frame(
        _frame(rows), lambda: model, instruction_col="instruction", context_col="context",
        batch_size=8, settings=DecodingSettings(max_new_tokens=16),
    )
    assert out["response"][0] == "The capital of France is Paris."
    assert out["response"][2] == "The capital of Japan is Tokyo."
    assert out["error"][1] == "generation failed: RuntimeError: CUDA out of memory."
    assert out["error"][[0, 2]].isna().all()


def test_a_partition_of_bad_rows_loads_no_model():
    def no_model():
        raise AssertionError("the model must not be loaded for rows that cannot be answered")

    out = answer_frame(
        _frame([(0, None, None), (1, "", None)]), no_model, instruction_col="instruction",
        context_col="context", batch_size=8, settings=DecodingSettings(max_new_tokens=16),
    )
    assert list(out["error"]) == ["instruction is missing (null)", "instruction is empty"]


def test_cached_model_loads_once_per_process():
    first = spark_rows.cached_model("tiny-dolly-small")
    assert spark_rows.cached_model("tiny-dolly-small") is first
    assert spark_rows.cached_model("tiny-dolly-medium") is not first  # replaces, never piles up
    assert len(spark_rows._MODEL_CACHE) == 1


def test_largest_batch_size_follows_gpu_memory():
    assert largest_batch_size("dolly-v2-12b", "T4") == 0  # does not fit at all in 16 bits
    assert largest_batch_size("dolly-v2-12b", "T4", load_in_8bit=True) >= 1
    t4, a10g, a100 = (largest_batch_size("dolly-v2-7b", gpu) for gpu in ("T4", "A10G", "A100-80GB"))
    assert 1 <= t4 < a10g < a100
    longer = largest_batch_size("dolly-v2-3b", "A10G", sequence_length=1024)
    assert longer < largest_batch_size("dolly-v2-3b", "A10G")


# --- The Spark job: local[2] ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def started_spark():
    """The session, and what starting it printed (nothing, the log test checks)."""
    pytest.importorskip("pyspark", reason="pyspark is not installed: pip install pyspark pyarrow")
    pytest.importorskip("pyarrow", reason="pyarrow is not installed: pip install pyspark pyarrow")
    try:
        find_java()
    except JavaNotFoundError as error:
        pytest.skip(str(error))
    with _printed_to_the_terminal() as printed:
        session = dolly_spark.local_spark(2)
        session.range(3).count()
    yield session, bytes(printed)
    session.stop()


@pytest.fixture(scope="session")
def spark(started_spark):
    return started_spark[0]


@contextlib.contextmanager
def _printed_to_the_terminal():
    """Collect everything written to stdout and stderr: by Python, and to the files themselves
    (by the JVM this process starts, say), as a notebook's kernel would show it."""
    printed = bytearray()
    text = io.StringIO()
    with tempfile.TemporaryFile() as sink, contextlib.redirect_stdout(text), contextlib.redirect_stderr(text):
        saved = os.dup(1), os.dup(2)
        os.dup2(sink.fileno(), 1), os.dup2(sink.fileno(), 2)
        try:
            yield printed
        finally:
            os.dup2(saved[0], 1), os.dup2(saved[1], 2)
            os.close(saved[0]), os.close(saved[1])
            sink.seek(0)
            printed += sink.read() + text.getvalue().encode()


@pytest.fixture(scope="session")
def questions(spark):
    """The first twelve book questions, a second column to carry along, and three bad rows."""
    rows = [(i, "book", q.instruction, q.context) for i, q in enumerate(COMPARISON_QUESTIONS[:12])]
    rows += [(100, "bad", None, None), (101, "bad", "   ", None)]
    rows += [(102, "bad", "Summarize the passage.", VELTORIA * 12)]
    schema = "id long, source string, instruction string, context string"
    return spark.createDataFrame(rows, schema).repartition(3)


@pytest.fixture(scope="session")
def answered(questions):
    return add_sorted(questions, max_new_tokens=32, batch_size=4)


def add_sorted(df, **options):
    return dolly_spark.add_responses(df, **options).orderBy("id").toPandas()


def test_spark_answers_equal_generate(answered, model):
    good = answered[answered["source"] == "book"]
    expected = generate(
        model,
        list(good["instruction"]),
        context=[None if pd.isna(c) else c for c in good["context"]],
        max_new_tokens=32,
    )
    assert list(good["response"]) == [result.response for result in expected]
    assert list(good["new_tokens"]) == [result.new_tokens for result in expected]
    assert list(good["prompt_tokens"]) == [result.prompt_tokens for result in expected]
    assert set(good["model_name"]) == {"tiny-dolly-large"}
    assert good["error"].isna().all() and (good["seconds"] > 0).all()


def test_spark_keeps_every_row_and_column(answered, questions):
    assert list(answered.columns) == [*questions.columns, *RESULT_NAMES]
    assert list(answered["id"]) == [*range(12), 100, 101, 102]
    assert list(answered["source"]) == ["book"] * 12 + ["bad"] * 3


def test_spark_reports_bad_rows_instead_of_failing(answered):
    bad = answered[answered["source"] == "bad"]
    assert bad["response"][:2].isna().all() and bad["new_tokens"][:2].isna().all()
    assert list(bad["error"][:2]) == ["instruction is missing (null)", "instruction is empty"]
    # The passage too long for the window is cut, as generate cuts it: answered, and the row says so.
    assert list(bad["error"])[2].startswith("context cut by ") and list(bad["response"])[2]


def test_spark_without_a_context_column(spark):
    df = spark.createDataFrame([(1, "What is the capital of France?")], "id long, instruction string")
    out = add_sorted(df, context_col=None, max_new_tokens=16)
    assert list(out["response"]) == ["The capital of France is Paris."]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"instruction_col": "question"}, "no column 'question'"),
        ({"context_col": "passage"}, "pass context_col=None"),
        ({"model_name": "dolly-v2-13b"}, "unknown model 'dolly-v2-13b'"),
        ({"batch_size": 0}, "batch_size must be at least 1, got 0"),
        ({"max_new_tokens": 0}, "max_new_tokens must be at least 1, got 0"),
        ({"do_sample": True, "top_p": 1.5}, "top_p must be above 0 and at most 1, got 1.5"),
        ({"temperature": -1.0}, "temperature must not be negative"),
        ({"do_sample": True, "temperature": 0.0}, "temperature=0 cannot be sampled from"),
        ({"seed": 2**40}, "seed must be at most"),
        ({"max_new_tokens": 256}, "leaves no room for a prompt in the 256 tokens"),
    ],
)
def test_spark_mistakes_fail_at_once_on_the_driver(questions, options, message):
    with pytest.raises(ValueError, match=message):
        dolly_spark.add_responses(questions, **options)


def test_spark_rejects_unknown_decoding_options(questions):
    with pytest.raises(TypeError, match="unknown decoding option"):
        dolly_spark.add_responses(questions, temprature=0.7)
    with pytest.raises(TypeError, match="^top_k must be a whole number, got float 1.5"):
        dolly_spark.add_responses(questions, do_sample=True, top_k=1.5)


def test_spark_rejects_taken_and_non_text_columns(spark):
    taken = spark.createDataFrame([(1, "Hi", "old")], "id long, instruction string, response string")
    with pytest.raises(ValueError, match="already has column"):
        dolly_spark.add_responses(taken, context_col=None)
    numbers = spark.createDataFrame([(1, 2)], "id long, instruction long")
    with pytest.raises(ValueError, match="must hold strings, not bigint"):
        dolly_spark.add_responses(numbers, context_col=None)


def test_spark_keeps_its_log_out_of_the_notebook(started_spark):
    spark, printed = started_spark
    assert os.path.getsize(spark.conf.get("spark.dolly.logFile")) > 0  # the JVM's log went to its file ...
    assert printed == b""  # ... and nothing to the terminal, or a notebook's output
