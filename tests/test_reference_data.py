"""The published figures the chapters chart agree with their own totals."""

import math

import pytest

from dolly_helpers.reference_data import (
    BENCHMARK_TASKS,
    DOLLY_15K_CATEGORIES,
    DOLLY_15K_RECORDS,
    MODEL_CARD_BENCHMARKS,
    PILE_COMPONENTS,
    PILE_TOTAL_EFFECTIVE_GIB,
    PILE_TOTAL_RAW_GIB,
    SEED_ARTICLE_ANSWERS,
)


def test_the_pile_has_22_components_in_five_groups_summing_to_its_totals():
    assert len(PILE_COMPONENTS) == 22
    assert {c.group for c in PILE_COMPONENTS} == {"academic", "internet", "prose", "dialogue", "misc"}
    assert sum(c.raw_gib for c in PILE_COMPONENTS) == pytest.approx(PILE_TOTAL_RAW_GIB, abs=0.05)
    assert sum(c.effective_gib for c in PILE_COMPONENTS) == pytest.approx(PILE_TOTAL_EFFECTIVE_GIB, abs=0.05)
    assert sum(c.weight_percent for c in PILE_COMPONENTS) == pytest.approx(100, abs=0.05)


def test_effective_size_is_raw_size_times_epochs():
    for component in PILE_COMPONENTS:
        assert component.raw_gib * component.epochs == pytest.approx(component.effective_gib, abs=0.02)


def test_dolly_15k_categories_sum_to_the_record_count():
    assert len(DOLLY_15K_CATEGORIES) == 8
    assert sum(DOLLY_15K_CATEGORIES.values()) == DOLLY_15K_RECORDS == 15_011


def test_model_card_gmean_is_the_geometric_mean_of_the_tasks():
    for model, row in MODEL_CARD_BENCHMARKS.items():
        scores, gmean = row[: len(BENCHMARK_TASKS)], row[-1]
        assert math.prod(scores) ** (1 / len(scores)) == pytest.approx(gmean, abs=5e-4), model


def test_the_card_ranks_7b_above_12b():
    assert MODEL_CARD_BENCHMARKS["databricks/dolly-v2-7b"][-1] > MODEL_CARD_BENCHMARKS["databricks/dolly-v2-12b"][-1]


def test_quoted_answers_cover_every_dolly_size():
    assert {a.model_name for a in SEED_ARTICLE_ANSWERS} == {"dolly-v2-3b", "dolly-v2-7b", "dolly-v2-12b"}
