"""Published figures the chapters chart, each with its source.

Chapter 1 charts model sizes, chapter 2 The Pile, chapter 3 databricks-dolly-15k, chapter 5
quotes the original size experiment, chapter 6 plots the Dolly model card's benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Parameter counts of landmark models (sources: the APC tech blog article on Dolly sizes for
#: GPT-1 and GPT-3; Radford et al. 2019, "Language Models are Unsupervised Multitask Learners",
#: for GPT-2; Hugging Face config files for Dolly, see ``models.py``).
LANDMARK_PARAMETERS = {
    "GPT-1 (2018)": 110_000_000,
    "GPT-2 (2019)": 1_500_000_000,
    "GPT-3 (2020)": 175_000_000_000,
}


@dataclass(frozen=True)
class PileComponent:
    """One row of The Pile's Table 1 (Gao et al. 2020, arXiv 2101.00027)."""

    name: str
    group: str  # academic, internet, prose, dialogue or misc, as the paper groups them
    raw_gib: float
    weight_percent: float
    epochs: float
    effective_gib: float
    mean_document_kib: float


PILE_COMPONENTS = (
    PileComponent("Pile-CC", "internet", 227.12, 18.11, 1.0, 227.12, 4.33),
    PileComponent("PubMed Central", "academic", 90.27, 14.40, 2.0, 180.55, 30.55),
    PileComponent("Books3", "prose", 100.96, 12.07, 1.5, 151.44, 538.36),
    PileComponent("OpenWebText2", "internet", 62.77, 10.01, 2.0, 125.54, 3.85),
    PileComponent("ArXiv", "academic", 56.21, 8.96, 2.0, 112.42, 46.61),
    PileComponent("GitHub", "misc", 95.16, 7.59, 1.0, 95.16, 5.25),
    PileComponent("FreeLaw", "academic", 51.15, 6.12, 1.5, 76.73, 15.06),
    PileComponent("Stack Exchange", "internet", 32.20, 5.13, 2.0, 64.39, 2.16),
    PileComponent("USPTO Backgrounds", "academic", 22.90, 3.65, 2.0, 45.81, 4.08),
    PileComponent("PubMed Abstracts", "academic", 19.26, 3.07, 2.0, 38.53, 1.30),
    PileComponent("Gutenberg (PG-19)", "prose", 10.88, 2.17, 2.5, 27.19, 398.73),
    PileComponent("OpenSubtitles", "dialogue", 12.98, 1.55, 1.5, 19.47, 30.48),
    PileComponent("Wikipedia (en)", "internet", 6.38, 1.53, 3.0, 19.13, 1.11),
    PileComponent("DM Mathematics", "misc", 7.75, 1.24, 2.0, 15.49, 8.00),
    PileComponent("Ubuntu IRC", "dialogue", 5.52, 0.88, 2.0, 11.03, 545.48),
    PileComponent("BookCorpus2", "prose", 6.30, 0.75, 1.5, 9.45, 369.87),
    PileComponent("EuroParl", "dialogue", 4.59, 0.73, 2.0, 9.17, 68.87),
    PileComponent("HackerNews", "dialogue", 3.90, 0.62, 2.0, 7.80, 4.92),
    PileComponent("YoutubeSubtitles", "dialogue", 3.73, 0.60, 2.0, 7.47, 22.55),
    PileComponent("PhilPapers", "academic", 2.38, 0.38, 2.0, 4.76, 73.37),
    PileComponent("NIH ExPorter", "academic", 1.89, 0.30, 2.0, 3.79, 2.11),
    PileComponent("Enron Emails", "misc", 0.88, 0.14, 2.0, 1.76, 1.78),
)
PILE_TOTAL_RAW_GIB = 825.18
PILE_TOTAL_EFFECTIVE_GIB = 1254.20
#: Tokens Pythia (and so Dolly's base) was trained on: about one epoch of The Pile.
PYTHIA_TRAINING_TOKENS = 299_892_736_000

#: databricks-dolly-15k records per category (dataset card; third-party tallies that agree).
DOLLY_15K_CATEGORIES = {
    "open_qa": 3742,
    "general_qa": 2191,
    "classification": 2136,
    "closed_qa": 1773,
    "brainstorming": 1766,
    "information_extraction": 1506,
    "summarization": 1188,
    "creative_writing": 709,
}
DOLLY_15K_RECORDS = 15_011
#: The categories whose records carry a reference passage (the "context" field).
DOLLY_15K_CONTEXT_CATEGORIES = ("closed_qa", "information_extraction", "summarization")

#: The Dolly model card's LM Evaluation Harness table (Hugging Face databricks/dolly-v2-12b).
BENCHMARK_TASKS = ("openbookqa", "arc_easy", "winogrande", "hellaswag", "arc_challenge", "piqa", "boolq")
MODEL_CARD_BENCHMARKS = {
    "EleutherAI/pythia-2.8b": (0.348, 0.585859, 0.589582, 0.591217, 0.323379, 0.73395, 0.638226, 0.523431),
    "EleutherAI/pythia-6.9b": (0.368, 0.604798, 0.608524, 0.631548, 0.343857, 0.761153, 0.6263, 0.543567),
    "databricks/dolly-v2-3b": (0.384, 0.611532, 0.589582, 0.650767, 0.370307, 0.742655, 0.575535, 0.544886),
    "EleutherAI/pythia-12b": (0.364, 0.627104, 0.636148, 0.668094, 0.346416, 0.760065, 0.673394, 0.559676),
    "EleutherAI/gpt-j-6B": (0.382, 0.621633, 0.651144, 0.662617, 0.363481, 0.761153, 0.655963, 0.565936),
    "databricks/dolly-v2-12b": (0.408, 0.63931, 0.616417, 0.707927, 0.388225, 0.757889, 0.568196, 0.56781),
    "databricks/dolly-v2-7b": (0.392, 0.633838, 0.607735, 0.686517, 0.406997, 0.750816, 0.644037, 0.573487),
    "databricks/dolly-v1-6b": (0.41, 0.62963, 0.643252, 0.676758, 0.384812, 0.773667, 0.687768, 0.583431),
    "EleutherAI/gpt-neox-20b": (0.402, 0.683923, 0.656669, 0.7142, 0.408703, 0.784004, 0.695413, 0.602236),
}  # the last number of each row is the geometric mean ("gmean") over the seven tasks


@dataclass(frozen=True)
class QuotedAnswer:
    """An answer the original size experiment reported (sampled, so a rerun differs)."""

    model_name: str
    instruction: str
    response: str


#: Source: APC tech blog, "I tried running the large scale language model (LLM) Dolly with
#: different number of parameters" (2023): Databricks Runtime 13.0 ML, one T4, bf16.
SEED_ARTICLE = "APC tech blog (2023), Dolly with different numbers of parameters, on one T4 GPU"
SEED_ARTICLE_ANSWERS = (
    QuotedAnswer(
        "dolly-v2-12b",
        "What is the highest mountain in Japan?",
        "The highest mountain in Japan is Mount Everest standing tall at 29032 feet",
    ),
    QuotedAnswer(
        "dolly-v2-12b",
        "What is the highest mountain in the world?",
        "The highest mountain in the world is Mount Everest standing tall at 29032 feet",
    ),
    QuotedAnswer(
        "dolly-v2-7b",
        "What is the highest mountain in the world?",
        "The tallest mountain in the world is Mount Everest standing tall at 29032 feet. "
        "This is due to it being a tallest peak on all seven continents.",
    ),
    QuotedAnswer(
        "dolly-v2-3b",
        "What is the highest mountain in the world?",
        'It depends what you mean by the "highest mountain in the world". Geographical terms such '
        "as highest, tallest or highest point are not independent criteria for making judgements "
        "of which mountains are the highest. The highest mountains can have multiple tops and are "
        "often shared between multiple countries. (A second paragraph on comparing heights and "
        "ice volume follows.)",
    ),
)
