"""The facts the tiny Dolly family learns: mountains, countries, and facts about Dolly itself.

Chapter 6 turns these tables into instruction records (see ``dataset.py``). Mountain heights
are the commonly cited survey values in metres; facts about Dolly, Pythia and The Pile come
from their model cards, the databricks-dolly-15k card and the Pile paper (Gao et al. 2020).
Countries whose highest point or continent is disputed or shared at the summit are left out,
so every sentence the models learn is true.
"""

from __future__ import annotations

from dataclasses import dataclass

WORLD = "the world"


@dataclass(frozen=True)
class Mountain:
    """The highest mountain of a country (or of the world)."""

    country: str
    name: str
    height_m: int


@dataclass(frozen=True)
class Country:
    name: str
    capital: str
    continent: str


@dataclass(frozen=True)
class BookFact:
    """One question about LLMs, Dolly or The Pile, asked several ways, with one answer.

    The last phrasing is kept for the held-out split; the others are for training.
    """

    key: str
    questions: tuple[str, ...]
    response: str
    answer: str  # the key fact inside ``response``


@dataclass(frozen=True)
class DollyModel:
    """One Dolly 2.0 size, from its config.json and the Pythia model card."""

    name: str
    base_model: str
    layers: int
    hidden_size: int
    parameters: str  # rounded, in words


MOUNTAINS: tuple[Mountain, ...] = (
    Mountain(WORLD, "Mount Everest", 8849),
    # Asia
    Mountain("Japan", "Mount Fuji", 3776),
    Mountain("Nepal", "Mount Everest", 8849),
    Mountain("China", "Mount Everest", 8849),
    Mountain("Afghanistan", "Noshaq", 7492),
    Mountain("Tajikistan", "Ismoil Somoni Peak", 7495),
    Mountain("Kyrgyzstan", "Jengish Chokusu", 7439),
    Mountain("South Korea", "Hallasan", 1947),
    Mountain("Malaysia", "Mount Kinabalu", 4095),
    Mountain("the Philippines", "Mount Apo", 2954),
    Mountain("Indonesia", "Puncak Jaya", 4884),
    Mountain("Armenia", "Mount Aragats", 4090),
    Mountain("Turkey", "Mount Ararat", 5137),
    # Europe
    Mountain("Russia", "Mount Elbrus", 5642),
    Mountain("France", "Mont Blanc", 4806),  # 4,805.59 m in 2021; it changes with the snow
    Mountain("Switzerland", "Dufourspitze", 4634),
    Mountain("Austria", "Grossglockner", 3798),
    Mountain("Germany", "Zugspitze", 2962),
    Mountain("Spain", "Teide", 3715),
    Mountain("Greece", "Mount Olympus", 2918),
    Mountain("Bulgaria", "Musala", 2925),
    Mountain("Romania", "Moldoveanu", 2544),
    Mountain("Slovenia", "Triglav", 2864),
    Mountain("Slovakia", "Gerlachovský štít", 2655),
    Mountain("the Czech Republic", "Sněžka", 1603),
    Mountain("Norway", "Galdhøpiggen", 2469),
    Mountain("Iceland", "Hvannadalshnúkur", 2110),
    Mountain("the United Kingdom", "Ben Nevis", 1345),
    Mountain("Ireland", "Carrauntoohil", 1039),
    Mountain("Portugal", "Mount Pico", 2351),
    # Africa
    Mountain("Tanzania", "Mount Kilimanjaro", 5895),
    Mountain("Kenya", "Mount Kenya", 5199),
    Mountain("Uganda", "Mount Stanley", 5109),
    Mountain("Morocco", "Toubkal", 4167),
    Mountain("Egypt", "Mount Catherine", 2629),
    # North America
    Mountain("the United States", "Denali", 6190),
    Mountain("Canada", "Mount Logan", 5959),
    Mountain("Cuba", "Pico Turquino", 1974),
    # South America
    Mountain("Argentina", "Aconcagua", 6961),
    Mountain("Chile", "Ojos del Salado", 6893),
    Mountain("Peru", "Huascarán", 6768),
    Mountain("Bolivia", "Sajama", 6542),
    Mountain("Ecuador", "Chimborazo", 6263),
    Mountain("Venezuela", "Pico Bolívar", 4978),
    Mountain("Brazil", "Pico da Neblina", 2995),
    # Oceania
    Mountain("Australia", "Mount Kosciuszko", 2228),
    Mountain("New Zealand", "Aoraki / Mount Cook", 3724),
    Mountain("Papua New Guinea", "Mount Wilhelm", 4509),
)

COUNTRIES: tuple[Country, ...] = (
    Country("Japan", "Tokyo", "Asia"),
    Country("Nepal", "Kathmandu", "Asia"),
    Country("China", "Beijing", "Asia"),
    Country("India", "New Delhi", "Asia"),
    Country("Thailand", "Bangkok", "Asia"),
    Country("Afghanistan", "Kabul", "Asia"),
    Country("Tajikistan", "Dushanbe", "Asia"),
    Country("Kyrgyzstan", "Bishkek", "Asia"),
    Country("South Korea", "Seoul", "Asia"),
    Country("Malaysia", "Kuala Lumpur", "Asia"),
    Country("the Philippines", "Manila", "Asia"),
    Country("France", "Paris", "Europe"),
    Country("Italy", "Rome", "Europe"),
    Country("Switzerland", "Bern", "Europe"),
    Country("Austria", "Vienna", "Europe"),
    Country("Germany", "Berlin", "Europe"),
    Country("Spain", "Madrid", "Europe"),
    Country("Portugal", "Lisbon", "Europe"),
    Country("Greece", "Athens", "Europe"),
    Country("Bulgaria", "Sofia", "Europe"),
    Country("Romania", "Bucharest", "Europe"),
    Country("Slovenia", "Ljubljana", "Europe"),
    Country("Slovakia", "Bratislava", "Europe"),
    Country("the Czech Republic", "Prague", "Europe"),
    Country("Norway", "Oslo", "Europe"),
    Country("Sweden", "Stockholm", "Europe"),
    Country("Iceland", "Reykjavík", "Europe"),
    Country("the United Kingdom", "London", "Europe"),
    Country("Ireland", "Dublin", "Europe"),
    Country("Tanzania", "Dodoma", "Africa"),
    Country("Kenya", "Nairobi", "Africa"),
    Country("Uganda", "Kampala", "Africa"),
    Country("Morocco", "Rabat", "Africa"),
    Country("Egypt", "Cairo", "Africa"),
    Country("Nigeria", "Abuja", "Africa"),
    Country("Ghana", "Accra", "Africa"),
    Country("the United States", "Washington, D.C.", "North America"),
    Country("Canada", "Ottawa", "North America"),
    Country("Mexico", "Mexico City", "North America"),
    Country("Cuba", "Havana", "North America"),
    Country("Argentina", "Buenos Aires", "South America"),
    Country("Chile", "Santiago", "South America"),
    Country("Peru", "Lima", "South America"),
    Country("Ecuador", "Quito", "South America"),
    Country("Venezuela", "Caracas", "South America"),
    Country("Brazil", "Brasília", "South America"),
    Country("Colombia", "Bogotá", "South America"),
    Country("Australia", "Canberra", "Oceania"),
    Country("New Zealand", "Wellington", "Oceania"),
    Country("Papua New Guinea", "Port Moresby", "Oceania"),
)

RIVERS: tuple[str, ...] = (
    "the Nile", "the Amazon", "the Danube", "the Rhine", "the Mississippi", "the Yangtze",
    "the Ganges", "the Thames", "the Volga", "the Mekong", "the Zambezi", "the Seine",
    "the Loire", "the Elbe", "the Orinoco", "the Tagus",
)  # fmt: skip

BOOK_FACTS: tuple[BookFact, ...] = (
    BookFact(
        "dolly_maker",
        ("Who made Dolly 2.0?", "Which company created Dolly 2.0?", "Who built Dolly 2.0?",
         "Which company is behind Dolly 2.0?"),
        "Dolly 2.0 was made by Databricks.", "Databricks",
    ),
    BookFact(
        "dolly_base",
        ("Which model is Dolly 2.0 fine-tuned from?", "What is the base model of Dolly 2.0?",
         "What model was Dolly 2.0 built on?"),
        "Dolly 2.0 is fine-tuned from EleutherAI's Pythia models.", "Pythia",
    ),
    BookFact(
        "dolly_data",
        ("What data was Dolly 2.0 fine-tuned on?", "Which dataset was used to fine-tune Dolly 2.0?",
         "What instruction data did Dolly 2.0 learn from?"),
        "Dolly 2.0 was fine-tuned on databricks-dolly-15k, a set of 15,011 instruction records.",
        "databricks-dolly-15k",
    ),
    BookFact(
        "dolly15k_size",
        ("How many records are in databricks-dolly-15k?", "How big is databricks-dolly-15k?",
         "How many examples does databricks-dolly-15k contain?"),
        "databricks-dolly-15k has 15,011 records.", "15,011",
    ),
    BookFact(
        "dolly15k_authors",
        ("Who wrote databricks-dolly-15k?", "Who wrote the records in databricks-dolly-15k?",
         "Who created the databricks-dolly-15k records?"),
        "The records in databricks-dolly-15k were written by Databricks employees in March and "
        "April 2023.",
        "Databricks employees",
    ),
    BookFact(
        "dolly15k_licence",
        ("What licence does databricks-dolly-15k use?",
         "Under which licence is databricks-dolly-15k released?",
         "How is databricks-dolly-15k licensed?"),
        "databricks-dolly-15k is released under the CC BY-SA 3.0 licence.", "CC BY-SA 3.0",
    ),
    BookFact(
        "dolly15k_categories",
        ("How many categories does databricks-dolly-15k have?",
         "Into how many categories is databricks-dolly-15k split?",
         "How many kinds of task are in databricks-dolly-15k?"),
        "databricks-dolly-15k has eight categories, such as open_qa, closed_qa and brainstorming.",
        "eight",
    ),
    BookFact(
        "dolly_sizes",
        ("What sizes does Dolly 2.0 come in?", "Which sizes of Dolly 2.0 are there?",
         "How many sizes of Dolly 2.0 exist?"),
        "Dolly 2.0 comes in three sizes: dolly-v2-3b, dolly-v2-7b and dolly-v2-12b.",
        "three sizes",
    ),
    BookFact(
        "dolly_licence",
        ("What licence do the Dolly 2.0 weights use?", "Under which licence is Dolly 2.0 released?",
         "How is Dolly 2.0 licensed?"),
        "The Dolly 2.0 weights are released under the MIT licence.", "MIT",
    ),
    BookFact(
        "dolly_architecture",
        ("What architecture does Dolly 2.0 use?", "Which architecture is Dolly 2.0 built with?",
         "What kind of network is Dolly 2.0?"),
        "Dolly 2.0 uses the GPT-NeoX architecture, like Pythia.", "GPT-NeoX",
    ),
    BookFact(
        "dolly_context",
        ("How many tokens can Dolly 2.0 read at once?", "What is the context length of Dolly 2.0?",
         "How long a prompt can Dolly 2.0 take?"),
        "Dolly 2.0 can read up to 2,048 tokens at once.", "2,048",
    ),
    BookFact(
        "dolly_vocabulary",
        ("How many tokens are in the vocabulary of Dolly 2.0?",
         "How big is the vocabulary of Dolly 2.0?", "What is the vocabulary size of Dolly 2.0?"),
        "Dolly 2.0 has a vocabulary of 50,280 tokens.", "50,280",
    ),
    BookFact(
        "pile_what",
        ("What is The Pile?", "Tell me what The Pile is.", "Describe The Pile."),
        "The Pile is an 825 GiB text dataset that EleutherAI built from 22 components.", "825 GiB",
    ),
    BookFact(
        "pile_size",
        ("How big is The Pile?", "How large is The Pile?", "What is the size of The Pile?"),
        "The Pile holds 825 GiB of text.", "825 GiB",
    ),
    BookFact(
        "pile_components",
        ("How many components does The Pile have?", "How many parts is The Pile made of?",
         "How many datasets make up The Pile?"),
        "The Pile is made of 22 components.", "22",
    ),
    BookFact(
        "pile_maker",
        ("Who made The Pile?", "Who built The Pile?", "Which group created The Pile?"),
        "The Pile was made by EleutherAI.", "EleutherAI",
    ),
    BookFact(
        "pile_largest",
        ("What is the largest component of The Pile?", "Which part of The Pile is the biggest?",
         "What is the biggest component in The Pile?"),
        "The largest component of The Pile is Pile-CC, with 227 GiB of text.", "Pile-CC",
    ),
    BookFact(
        "pythia_data",
        ("What data was Pythia trained on?", "Which dataset was Pythia trained on?",
         "What text did Pythia learn from?"),
        "Pythia was trained on The Pile.", "The Pile",
    ),
    BookFact(
        "pythia_tokens",
        ("How many tokens was Pythia trained on?", "How much text was Pythia trained on?",
         "On how many tokens was Pythia trained?"),
        "Pythia was trained on about 300 billion tokens, roughly one pass over The Pile.",
        "300 billion",
    ),
    BookFact(
        "gpt3_size",
        ("How many parameters does GPT-3 have?", "How big is GPT-3?",
         "What is the parameter count of GPT-3?"),
        "GPT-3 has 175 billion parameters.", "175 billion",
    ),
    BookFact(
        "llm",
        ("What does LLM stand for?", "What is LLM short for?", "What is the meaning of LLM?"),
        "LLM stands for large language model.", "large language model",
    ),
)  # fmt: skip

DOLLY_MODELS: tuple[DollyModel, ...] = (
    DollyModel("dolly-v2-3b", "pythia-2.8b", 32, 2560, "2.8 billion"),
    DollyModel("dolly-v2-7b", "pythia-6.9b", 32, 4096, "6.9 billion"),
    DollyModel("dolly-v2-12b", "pythia-12b", 36, 5120, "11.8 billion"),
)

#: Countries whose facts (capital, continent, highest mountain) the tiny models meet only in the
#: mini-Pile's encyclopedia, never in an instruction record. The held-out "knowledge transfer"
#: score asks about them: does what stage 1 read reach the answers stage 2 taught to write?
PRETRAINING_ONLY_COUNTRIES: frozenset[str] = frozenset({
    "Thailand", "Tajikistan", "Malaysia", "Italy", "Austria", "Bulgaria", "Slovakia", "Norway",
    "Ireland", "Kenya", "Ghana", "Canada", "Ecuador", "Australia",
})  # fmt: skip


def taught_in_instructions(country: str) -> bool:
    """True when the instruction data may state facts about ``country``."""
    return country not in PRETRAINING_ONLY_COUNTRIES
