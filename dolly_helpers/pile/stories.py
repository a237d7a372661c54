"""The mini-Pile's fiction: short generated stories about invented people and places.

The Pile's BookCorpus2 and Books3 are fiction, where a name introduced on one page comes back
on the next. A model that reads such text learns to look back and copy what it was told (the
"induction heads" of chapter 1's network), which is what answering from a passage needs later.
Every name is invented and none is from the held-out pool of the instruction data.
"""

from __future__ import annotations

import random

from ..tiny.passages import invented_word, is_heldout_name

SEED = 2021
DOCUMENTS = 1400
_FIRST = ("Anna", "Tomas", "Mira", "Jonas", "Elin", "Oskar", "Lena", "Pavel", "Ida", "Karl", "Nora",
          "Emil", "Sara", "Aron", "Vera", "Felix", "Ruth", "Leon", "Maja", "Hugo", "Greta", "Ivo")  # fmt: skip
_THINGS = ("a brass key", "an old map", "a blue lantern", "a wooden box", "a silver coin", "a torn letter",
           "a small compass", "a painted stone", "a clock with no hands", "a jar of seeds")  # fmt: skip
_SENTENCES = (
    "{hero} lived in {town}, a quiet town on the banks of the {river}.",
    "Every morning {hero} walked along the {river} to the market of {town}.",
    "One autumn day {hero} found {thing} under the old bridge of {town}.",
    '"Where did you find that?" asked {friend}. "Under the bridge in {town}," said {hero}.',
    "{friend} had lived in {town} for {number} years and knew every street of it.",
    "The bridge over the {river} had been built in {year}, long before {hero} was born.",
    '"The bridge is older than anyone in {town}," said {friend}. "It was built in {year}."',
    "{hero} showed {thing} to {friend}, and {friend} turned it over twice.",
    "That night {hero} could not sleep and thought about {thing}.",
    "In the morning {hero} and {friend} followed the {river} out of {town}.",
    "After {number} miles they reached {place}, a village that {hero} had never seen.",
    "The people of {place} said that nobody had come from {town} since {year}.",
    '"Why did you come to {place}?" asked an old woman. "We came for the {river}," said {friend}.',
    "{friend} wrote the name {place} in a notebook, next to the name {town}.",
    "At the inn of {place}, {hero} paid {number} coins for bread and soup.",
    "The innkeeper of {place} told {hero} that the {river} began in the hills above {place}.",
    '"How far is it to the hills?" asked {hero}. "{number} miles," said the innkeeper.',
    "{hero} and {friend} climbed the hills above {place} and found the spring of the {river}.",
    "There, beside the spring, {hero} understood what {thing} was for.",
    "When they came back to {town}, everyone wanted to hear about {place}.",
    "{friend} told the story of {place} so often that the children of {town} knew it by heart.",
    "Years later {hero} still kept {thing} on a shelf in the house in {town}.",
    '"Do you remember {place}?" {friend} would ask. "Of course," {hero} would say. "And the {river}."',
)


def _name(rng: random.Random, taken: set[str]) -> str:
    while True:
        word = invented_word(rng)
        if not is_heldout_name(word) and word not in taken and len(word) <= 12:
            taken.add(word)
            return word


def story(rng: random.Random, taken: set[str]) -> str:
    """One story: a title, then 8 to 14 sentences that keep coming back to the same names."""
    slots = {
        "hero": f"{rng.choice(_FIRST)} {_name(rng, taken)}" if rng.random() < 0.3 else _name(rng, taken),
        "friend": rng.choice(_FIRST),
        "town": _name(rng, taken),
        "place": _name(rng, taken),
        "river": _name(rng, taken),
        "thing": rng.choice(_THINGS),
        "year": str(rng.randint(1500, 1950)),
        "number": str(rng.randint(3, 60)),
    }
    count = rng.randint(8, 14)
    picked = sorted(rng.sample(range(len(_SENTENCES)), count))
    sentences = [_SENTENCES[i].format(**slots) for i in picked]
    paragraphs = [" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4)]
    return f"The {slots['river']} and {slots['thing'].split(' ', 1)[1]}\n\n" + "\n\n".join(paragraphs)


def documents(seed: int = SEED, count: int = DOCUMENTS) -> list[str]:
    """The component's stories, the same for a given seed on every machine."""
    rng, taken = random.Random(seed), set()
    return [story(rng, taken) for _ in range(count)]
