"""The facts the tiny family's instruction records ask about, one relation at a time.

A relation (the capital of a country, the height of a mountain ...) has the wordings training
uses, the held-out wordings only evaluation uses, and the response; its rows come from the fact
tables of :mod:`.facts`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .facts import COUNTRIES, DOLLY_MODELS, MOUNTAINS, RIVERS, WORLD

Slots = dict[str, str]


@dataclass(frozen=True)
class Relation:
    """One kind of fact question: training wordings, held-out wordings and the response."""

    name: str
    category: str
    phrasings: tuple[str, ...]
    heldout_phrasings: tuple[str, ...]
    response: str
    answer: str  # slot name of the key fact


def capitalized(text: str) -> str:
    """``text`` with its first letter upper-case."""
    return text[0].upper() + text[1:]


RELATIONS = (
    Relation("capital", "open_qa",
             ("What is the capital of {country}?", "What is the capital city of {country}?",
              "Which city is the capital of {country}?", "Name the capital of {country}.",
              "Tell me the capital of {country}.", "What city is the capital of {country}?"),
             ("Which city serves as the capital of {country}?", "Do you know the capital of {country}?"),
             "The capital of {country} is {capital}.", "capital"),
    Relation("capital_country", "open_qa",
             ("{capital} is the capital of which country?", "Which country has {capital} as its capital?",
              "Of which country is {capital} the capital?", "Where is {capital}?"),
             ("{capital} is the capital city of what country?",),
             "{capital} is the capital of {country}.", "country"),
    Relation("continent", "open_qa",
             ("Which continent is {country} in?", "On which continent is {country}?",
              "What continent is {country} part of?", "Where is {country}?",
              "In which continent is {country}?"),
             ("{Country} lies on which continent?", "Tell me which continent {country} belongs to."),
             "{Country} is a country in {continent}.", "continent"),
    Relation("highest_mountain", "open_qa",
             ("What is the highest mountain in {country}?", "Which mountain is the highest in {country}?",
              "What is the tallest mountain in {country}?", "Name the highest mountain in {country}.",
              "What is the highest peak in {country}?", "Which is the highest mountain of {country}?"),
             ("Which peak is the highest point of {country}?",
              "Tell me the name of the highest mountain in {country}."),
             "The highest mountain in {country} is {mountain}, at {height} metres.", "mountain"),
    Relation("height", "open_qa",
             ("How high is {mountain}?", "What is the height of {mountain}?", "How tall is {mountain}?",
              "How many metres high is {mountain}?", "How high is the summit of {mountain}?"),
             ("What is the elevation of {mountain}?", "Roughly how high does {mountain} rise?"),
             "{Mountain} is {height} metres high.", "height"),
    Relation("mountain_country", "open_qa",
             ("In which country is {mountain}?", "Which country is {mountain} in?",
              "Where is {mountain}?", "{Mountain} is the highest mountain of which country?"),
             ("In what country can you find {mountain}?",),
             "{Mountain} is the highest mountain in {country}.", "country"),
    Relation("kind_of_place", "classification",
             ("Is {place} a mountain, a country or a river?", "Is {place} a river, a mountain or a country?",
              "What kind of place is {place}: a country, a river or a mountain?"),
             ("Would you call {place} a mountain, a river or a country?",),
             "{Place} is a {kind}.", "kind"),
    Relation("dolly_base", "open_qa",
             ("What is the base model of {model}?", "Which model was {model} fine-tuned from?",
              "What model is {model} built on?"),
             ("{model} started from which pretrained model?",),
             "{model} was fine-tuned from {base}.", "base"),
    Relation("dolly_layers", "open_qa",
             ("How many layers does {model} have?", "How many transformer layers are in {model}?"),
             ("What is the number of layers in {model}?",),
             "{model} has {layers} layers.", "layers"),
    Relation("dolly_parameters", "open_qa",
             ("How many parameters does {model} have?", "How big is {model}?"),
             ("What is the parameter count of {model}?",),
             "{model} has about {parameters} parameters.", "parameters"),
)  # fmt: skip


def _height(metres: int) -> str:
    return f"{metres:,}"


def country_rows() -> list[Slots]:
    highest = {m.country: m for m in MOUNTAINS}
    rows = []
    for country in COUNTRIES:
        row = {"country": country.name, "capital": country.capital, "continent": country.continent}
        if country.name in highest:
            row |= {"mountain": highest[country.name].name, "height": _height(highest[country.name].height_m)}
        rows.append(row)
    return rows


def _mountain_rows() -> list[Slots]:
    """Mountains that are the highest of exactly one country, and Everest as the world's highest
    (it also tops Nepal and China, so "which country is it in" has no one answer)."""
    counts = Counter(m.name for m in MOUNTAINS)
    return [{"country": m.country, "mountain": m.name, "height": _height(m.height_m)}
            for m in MOUNTAINS if counts[m.name] == 1 or m.country == WORLD]  # fmt: skip


def place_rows() -> list[Slots]:
    rows = [{"place": river, "kind": "river", "country": ""} for river in RIVERS]
    rows += [{"place": m["mountain"], "kind": "mountain", "country": m["country"]} for m in _mountain_rows()]
    rows += [{"place": c["country"], "kind": "country", "country": c["country"]} for c in country_rows()]
    return rows


def _dolly_rows() -> list[Slots]:
    return [{"model": d.name, "base": d.base_model, "layers": str(d.layers), "parameters": d.parameters,
             "country": ""} for d in DOLLY_MODELS]  # fmt: skip


def relation_rows(relation: Relation) -> list[Slots]:
    """The facts one relation asks about, each a dict of slots."""
    if relation.name.startswith("dolly_"):
        return _dolly_rows()
    if relation.name == "kind_of_place":
        return place_rows()
    if relation.name == "height":
        return _mountain_rows()
    if relation.name == "mountain_country":
        return [row for row in _mountain_rows() if row["country"] != WORLD]
    if relation.name == "highest_mountain":
        world = next(m for m in MOUNTAINS if m.country == WORLD)
        return [r for r in country_rows() if "mountain" in r] + [
            {"country": WORLD, "mountain": world.name, "height": _height(world.height_m)}]
    return [row for row in country_rows() if relation.answer in row]


def fill(template: str, slots: Slots) -> str:
    """``template`` with its slots filled in, the first letter of the result and of each ``{Slot}`` upper-case."""
    capitals = {key.capitalize(): capitalized(value) for key, value in slots.items() if value}
    return capitalized(template.format(**slots, **capitals))
