"""The mini-Pile's encyclopedia: short Wikipedia-like articles written from the book's fact tables.

Chapter 2 uses it as the mini-Pile's Wikipedia. Every country's capital, continent and highest
mountain is stated in plain sentences several times, each time worded differently, because a
later training stage teaches some of these facts through this text alone. Figures about Dolly,
Pythia and The Pile are copied from ``/work/shared/reference/dolly.md`` as it gives them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ..tiny.facts import COUNTRIES, DOLLY_MODELS, MOUNTAINS, WORLD, Country, Mountain

CONTINENTS = ("Africa", "Asia", "Europe", "North America", "Oceania", "South America")

# (river, continent, countries on its course (all of them, or "among them" when not), one more true
# sentence or "")
RIVERS: tuple[tuple[str, str, str, str], ...] = (
    ("the Nile", "Africa", "Uganda, South Sudan, Sudan and Egypt", "Cairo, the capital of Egypt, lies on the Nile."),
    ("the Amazon", "South America", "Peru, Colombia and Brazil", "The Amazon carries more water than any other river."),
    ("the Danube", "Europe", "Germany, Austria, Slovakia, Hungary, Serbia, Romania and Bulgaria, among them", "Vienna and Bratislava lie on the Danube."),
    ("the Rhine", "Europe", "Switzerland, Germany, France and the Netherlands, among them", ""),
    ("the Mississippi", "North America", "the United States", ""),
    ("the Yangtze", "Asia", "China", "The Yangtze is the longest river in Asia."),
    ("the Ganges", "Asia", "India and Bangladesh", ""),
    ("the Thames", "Europe", "England, in the United Kingdom", "London lies on the Thames."),
    ("the Volga", "Europe", "Russia", "The Volga is the longest river in Europe."),
    ("the Mekong", "Asia", "China, Myanmar, Laos, Thailand, Cambodia and Vietnam", ""),
    ("the Zambezi", "Africa", "Zambia, Zimbabwe and Mozambique, among them", ""),
    ("the Seine", "Europe", "France", "Paris, the capital of France, lies on the Seine."),
    ("the Loire", "Europe", "France", "The Loire is the longest river in France."),
    ("the Elbe", "Europe", "the Czech Republic and Germany", ""),
    ("the Orinoco", "South America", "Venezuela and Colombia", ""),
    ("the Tagus", "Europe", "Spain and Portugal", "The Tagus reaches the Atlantic Ocean at Lisbon."),
)  # fmt: skip

# Sentence templates, several per fact; each rendering picks one deterministically.
CAPITAL = (
    "The capital of {country} is {capital}.",
    "{capital} is the capital of {country}.",
    "The capital city of {country} is {capital}.",
    "{country} has {capital} as its capital.",
    "{capital} is the capital city of {country}.",
)
CONTINENT = (
    "{country} is a country in {continent}.",
    "{country} lies in {continent}.",
    "{country} is located in {continent}.",
    "{country} is one of the countries of {continent}.",
)
HIGHEST = (
    "The highest mountain in {country} is {mountain}, at {height}.",
    "{mountain} is the highest mountain in {country}; it is {height} high.",
    "At {height}, {mountain} is the highest mountain of {country}.",
    "The tallest mountain in {country} is {mountain} ({height}).",
    "{mountain}, {height} high, is the highest mountain in {country}.",
)
MOUNTAIN_HEIGHT = (
    "{mountain} is {height} high.",
    "The height of {mountain} is {height}.",
    "{mountain} rises to {height} above sea level.",
)


def metres(height_m: int) -> str:
    """Write a height the way the encyclopedia always does: ``3,776 metres``."""
    return f"{height_m:,} metres"


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:]


def _pick(templates: Sequence[str], key: str, turn: int, **fields: str) -> str:
    """Template number ``hash(key) + turn``: different renderings of one fact use different wordings."""
    start = int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(templates)
    return _sentence(templates[(start + turn) % len(templates)].format(**fields))


def _join(names: Sequence[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _title(name: str) -> str:
    return _sentence(name)


def _highest() -> dict[str, Mountain]:
    return {m.country: m for m in MOUNTAINS if m.country != WORLD}


def _country_facts(country: Country, turn: int) -> list[str]:
    """The capital, continent and (when known) highest mountain of ``country``, worded by ``turn``."""
    key = country.name
    facts = [
        _pick(CAPITAL, key, turn, country=country.name, capital=country.capital),
        _pick(CONTINENT, key, turn, country=country.name, continent=country.continent),
    ]
    mountain = _highest().get(country.name)
    if mountain:
        facts.append(_pick(HIGHEST, key, turn, country=country.name, mountain=mountain.name,
                           height=metres(mountain.height_m)))  # fmt: skip
    return facts


def country_article(country: Country) -> str:
    """The article on one country: its facts stated three times, in three wordings."""
    lead = " ".join(_country_facts(country, 0))
    geography = " ".join(_country_facts(country, 1)[1:] + _country_facts(country, 1)[:1])
    facts = "\n".join(f"- {fact}" for fact in _country_facts(country, 2))
    mountain = _highest().get(country.name)
    infobox = f"Country: {_sentence(country.name)}\nCapital: {country.capital}\nContinent: {country.continent}"
    if mountain:
        infobox += f"\nHighest mountain: {mountain.name} ({metres(mountain.height_m)})"
    return (f"{_title(country.name)}\n\n{infobox}\n\n{lead}\n\nGeography\n\n{geography}\n\n"
            f"Key facts\n\n{facts}")  # fmt: skip


def geography_article(country: Country) -> str:
    """The geography of one country, comparing its highest mountain with its continent's others."""
    lines = _country_facts(country, 4)
    mountain = _highest().get(country.name)
    if mountain:
        continent = {c.name: c.continent for c in COUNTRIES}
        others = [m for m in _highest().values()
                  if continent.get(m.country) == country.continent and m.name != mountain.name]  # fmt: skip
        nearest = {m.name: m for m in sorted(others, key=lambda m: abs(m.height_m - mountain.height_m))}
        for other in list(nearest.values())[:3]:
            relation = "higher" if mountain.height_m > other.height_m else "lower"
            lines.append(f"{mountain.name} is {relation} than {other.name} ({metres(other.height_m)}), "
                         f"the highest mountain in {other.country}.")  # fmt: skip
    neighbours = [c.name for c in COUNTRIES if c.continent == country.continent and c is not country]
    start = COUNTRIES.index(country) % len(neighbours)
    near = (neighbours[start:] + neighbours[:start])[:3]
    lines.append(f"Other countries of {country.continent} include {_join(near)}.")
    return f"Geography of {country.name}\n\n" + " ".join(lines)


def capital_article(country: Country) -> str:
    """A short article on a capital city."""
    capital = _pick(CAPITAL, country.capital, 3, country=country.name, capital=country.capital)
    where = _pick(CONTINENT, country.capital, 3, country=country.name, continent=country.continent)
    text = f"{capital} {where} {country.capital} is a city in {country.continent}."
    mountain = _highest().get(country.name)
    if mountain:
        text += (f" The highest mountain of {country.name} is {mountain.name}, which rises to "
                 f"{metres(mountain.height_m)}.")  # fmt: skip
    return f"{country.capital}\n\n{text}"


def mountain_article(mountain: Mountain) -> str:
    """The article on one mountain, with its country, height and (when known) continent."""
    height = metres(mountain.height_m)
    lines = [_pick(MOUNTAIN_HEIGHT, mountain.name + mountain.country, 0, mountain=mountain.name,
                   height=height)]  # fmt: skip
    if mountain.country == WORLD:
        lines.append(f"{mountain.name} is the highest mountain in the world.")
        nations = [m.country for m in MOUNTAINS if m.name == mountain.name and m.country != WORLD]
        lines.append(f"Its summit is on the border between {' and '.join(nations)}.")
    else:
        lines.append(_pick(HIGHEST, mountain.country, 4, country=mountain.country,
                           mountain=mountain.name, height=height))  # fmt: skip
        continent = {c.name: c.continent for c in COUNTRIES}.get(mountain.country)
        if continent:
            lines.append(f"{_sentence(mountain.country)} is in {continent}.")
    title = mountain.name if mountain.country == WORLD else f"{mountain.name} ({_sentence(mountain.country)})"
    return f"{title}\n\n" + " ".join(lines)


def continent_article(continent: str) -> str:
    """A list article: the countries of one continent with their capitals and highest mountains."""
    members = [c for c in COUNTRIES if c.continent == continent]
    body = [f"This article lists some countries of {continent}: {_join([c.name for c in members])}."]
    for country in members:
        body.append("- " + " ".join(_country_facts(country, 3)))
    return f"Countries of {continent}\n\n" + "\n".join(body)


def mountains_by_height() -> str:
    """A list article: every mountain of the tables, highest first."""
    seen, rows = set(), []
    for m in sorted(MOUNTAINS, key=lambda m: (-m.height_m, m.name)):
        if m.name in seen:
            continue
        seen.add(m.name)
        where = " and ".join(x.country for x in MOUNTAINS if x.name == m.name and x.country != WORLD)
        rows.append(f"- {m.name}: {metres(m.height_m)}, the highest mountain in {where}.")
    return "List of mountains by height\n\n" + "\n".join(rows)


def highest_by_continent(continent: str) -> str:
    """A list article: each country of one continent with its highest mountain."""
    highest = _highest()
    rows = [
        f"- In {c.name}, the highest mountain is {highest[c.name].name} "
        f"({metres(highest[c.name].height_m)})."
        for c in COUNTRIES
        if c.continent == continent and c.name in highest
    ]
    return f"Highest mountains of the countries of {continent}\n\n" + "\n".join(rows)


def capitals_list() -> str:
    """A list article: every country with its capital."""
    rows = [f"- {_sentence(c.name)}: {c.capital}" for c in sorted(COUNTRIES, key=lambda c: c.name.removeprefix("the "))]
    return "List of national capitals\n\nEach line names a country and its capital.\n\n" + "\n".join(rows)


def river_article(river: tuple[str, str, str, str]) -> str:
    name, continent, course, extra = river
    some = course.removesuffix(", among them")
    route = f"Countries on its course include {some}." if some != course else f"It flows through {course}."
    text = f"{_sentence(name)} is a river in {continent}. {route}"
    return f"{_title(name.removeprefix('the '))} (river)\n\n" + (f"{text} {extra}" if extra else text)


def dolly_model_article(index: int) -> str:
    """The article on one Dolly 2.0 size."""
    model = DOLLY_MODELS[index]
    others = [m.name for m in DOLLY_MODELS if m is not model]
    return (
        f"{model.name}\n\n{model.name} is one of the three sizes of Dolly 2.0, the instruction-following "
        f"model made by Databricks. It is fine-tuned from EleutherAI's {model.base_model}, a Pythia "
        f"model, on databricks-dolly-15k. {model.name} has about {model.parameters} parameters, "
        f"{model.layers} layers and a hidden size of {model.hidden_size}. Like every Dolly 2.0 model it "
        f"uses the GPT-NeoX architecture, reads up to 2,048 tokens at once and has a vocabulary of "
        f"50,280 tokens. Its weights are released under the MIT licence. The other two sizes are "
        f"{others[0]} and {others[1]}."
    )


# Fixed articles on the book's subject, figures as the reference gives them.
SUBJECT_ARTICLES: tuple[str, ...] = (
    "Large language model\n\nA large language model (LLM) is a neural network trained to predict the "
    "next token of a text. LLM stands for large language model. Such a model learns from a very large "
    "body of text and can then continue a prompt, answer questions or follow instructions. GPT-1 had "
    "about 110 million parameters; GPT-3 has 175 billion parameters. Models are usually pretrained on "
    "general text first and instruction-tuned afterwards.",
    "The Pile\n\nThe Pile is an 825 GiB text dataset made by EleutherAI for training language models. "
    "It is made of 22 components. The largest component of The Pile is Pile-CC, with 227.12 GiB of "
    "text from Common Crawl; by raw size the next largest are Books3 (100.96 GiB), GitHub (95.16 GiB) "
    "and PubMed Central (90.27 GiB). Smaller components are seen for more than one epoch during training: "
    "Wikipedia (en) three times and DM Mathematics twice, for example. The paper describing it is "
    "\"The Pile: An 800GB Dataset of Diverse Text for Language Modeling\" by Gao et al. (2020). Its "
    "components come in five groups: academic, internet, prose, dialogue and miscellaneous. The "
    "deduplicated Pile holds about 207 billion tokens.",
    "Pythia\n\nPythia is a family of language models made by EleutherAI. Pythia was trained on The "
    "Pile, on 299,892,736,000 tokens, which is about 300 billion tokens, or roughly one pass over The "
    "Pile. Every Pythia size saw the same data in the same order. The Pythia models use the GPT-NeoX "
    "architecture and are released under the Apache 2.0 licence. pythia-2.8b, pythia-6.9b and "
    "pythia-12b are the base models of the three Dolly 2.0 sizes.",
    "GPT-NeoX\n\nGPT-NeoX is a decoder-only transformer architecture from EleutherAI. Pythia and Dolly "
    "2.0 use the GPT-NeoX architecture. It applies rotary position embeddings to a quarter of the "
    "dimensions of each attention head (a rotary fraction of 0.25) and computes attention and the feed-forward layer in "
    "parallel from the same input (a parallel residual). In Dolly 2.0 it reads up to 2,048 tokens at "
    "once.",
    "Dolly (language model)\n\nDolly 2.0 is an instruction-following large language model made by "
    "Databricks. Dolly 2.0 was made by Databricks and is fine-tuned from EleutherAI's Pythia models. "
    "It was fine-tuned on databricks-dolly-15k, a set of 15,011 instruction records. Dolly 2.0 comes "
    "in three sizes: dolly-v2-3b, dolly-v2-7b and dolly-v2-12b. It uses the GPT-NeoX architecture, "
    "like Pythia, can read up to 2,048 tokens at once and has a vocabulary of 50,280 tokens. The Dolly "
    "2.0 weights are released under the MIT licence. Its prompt starts with \"Below is an instruction "
    "that describes a task.\" and marks the parts with ### Instruction:, ### Response: and ### End.",
    "databricks-dolly-15k\n\ndatabricks-dolly-15k is a dataset of 15,011 instruction records, each "
    "with an instruction, an optional context, a response and a category. The records were written by "
    "Databricks employees in March and April 2023, with reference passages taken from Wikipedia. "
    "databricks-dolly-15k is released under the CC BY-SA 3.0 licence. It has eight categories: "
    "open_qa (3,742 records), general_qa (2,191), classification (2,136), closed_qa (1,773), "
    "brainstorming (1,766), information_extraction (1,506), summarization (1,188) and "
    "creative_writing (709). Dolly 2.0 was fine-tuned on it.",
)


def articles() -> list[str]:
    """Every article of the encyclopedia, in a fixed order."""
    texts = list(SUBJECT_ARTICLES)
    texts += [dolly_model_article(i) for i in range(len(DOLLY_MODELS))]
    texts += [country_article(c) for c in COUNTRIES]
    texts += [geography_article(c) for c in COUNTRIES]
    texts += [capital_article(c) for c in COUNTRIES]
    texts += [mountain_article(m) for m in MOUNTAINS if m.country not in ("Nepal", "China")]
    texts += [continent_article(c) for c in CONTINENTS]
    texts += [highest_by_continent(c) for c in CONTINENTS]
    texts += [mountains_by_height(), capitals_list()]
    texts += [river_article(r) for r in RIVERS]
    return texts
