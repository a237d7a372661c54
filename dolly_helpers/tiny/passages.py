"""Short passages about invented things, and questions only the passage can answer.

The tiny Dolly family learns to read from these (closed QA, information extraction and
summarization, as in databricks-dolly-15k). Every name is made up from syllables, so a model
cannot have met the answer anywhere else; held-out passages use names from a separate pool,
so no training record shares a name or a passage with them.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass

_ONSETS = ("b", "br", "c", "d", "dr", "f", "g", "gr", "h", "k", "l", "m", "n", "p", "r", "s",
           "st", "t", "th", "v", "w", "z", "")  # fmt: skip
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "oa", "y")
_CODAS = ("n", "r", "l", "m", "s", "th", "nd", "rk", "ck", "", "", "")
_ENDINGS = ("moor", "ford", "by", "wick", "ton", "dale", "holm", "stead", "ria", "via", "mere",
            "ora", "gard", "ley", "worth", "ik", "an", "ene")  # fmt: skip
_FIRST_NAMES = ("Anna", "Tomas", "Mira", "Jonas", "Elin", "Oskar", "Lena", "Pavel", "Ida", "Karl",
                "Nora", "Emil", "Sara", "Aron", "Vera", "Felix", "Ruth", "Leon", "Maja", "Hugo")  # fmt: skip
_OCCUPATIONS = ("painter", "engineer", "poet", "chemist", "architect", "composer", "botanist",
                "sculptor", "astronomer", "novelist", "physician", "photographer")  # fmt: skip
_PRODUCTS = ("bicycles", "clocks", "pianos", "glass", "paper", "rope", "lamps", "boats",
             "telescopes", "shoes", "soap", "maps")  # fmt: skip

HELDOUT_NAME_SHARE = 5  # one invented name in five belongs to the held-out pool


def invented_word(rng: random.Random) -> str:
    """A pronounceable made-up word such as "Lindmoor" or "Brastedale"."""
    word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(rng.randint(1, 2)))
    return (word + rng.choice(_ENDINGS)).capitalize()


def is_heldout_name(word: str) -> bool:
    """Whether an invented word belongs to the held-out pool (a fixed hash, the same everywhere)."""
    return zlib.crc32(word.encode()) % HELDOUT_NAME_SHARE == 0


@dataclass(frozen=True)
class Fact:
    """One thing a passage states, and how to ask and answer it."""

    key: str  # e.g. "opened"
    label: str  # a field name for extraction: "Year opened"
    value: str  # "1823"
    sentences: tuple[str, ...]  # ways the passage states it; {name} is the subject
    questions: tuple[str, ...]  # ways to ask it
    answer: str  # the response, "{name} opened in {value}."
    clause: str = ""  # for a summary: "opened in {value}"


@dataclass(frozen=True)
class Passage:
    """An invented subject, its facts, the passage text, and a one-sentence summary."""

    name: str
    kind: str  # "canal", "town", ...
    facts: tuple[Fact, ...]
    text: str
    summary: str


class _Names:
    """Draws fresh invented words from one pool (train or held-out), never the same twice."""

    def __init__(self, rng: random.Random, heldout: bool, taken: set[str]) -> None:
        self.rng, self.heldout, self.taken = rng, heldout, taken

    def word(self) -> str:
        while True:
            word = invented_word(self.rng)
            if is_heldout_name(word) == self.heldout and word not in self.taken and len(word) <= 12:
                self.taken.add(word)
                return word

    def person(self) -> str:
        return f"{self.rng.choice(_FIRST_NAMES)} {self.word()}"


def _year(rng: random.Random) -> str:
    return str(rng.randint(1520, 1990))


def _number(rng: random.Random, low: int, high: int) -> str:
    return f"{rng.randint(low, high):,}"


def _canal(names: _Names, rng: random.Random) -> tuple[str, list[Fact], str]:
    name, a, b, who = f"the {names.word()} Canal", names.word(), names.word(), names.person()
    year, km = _year(rng), str(rng.randint(4, 90))
    facts = [
        _year_fact("opened", "Year opened", year, "opened", "was opened"),
        _length_fact(f"{km} kilometres"),
        Fact("connects", "Connects", f"{a} and {b}",
             ("{name} connects the towns of {value}.", "{name} runs between {value}."),
             ("Which towns does {name} connect?", "What does {name} connect?",
              "Between which towns does {name} run?"),
             "{name} connects {value}.", "connecting {value}"),
        _builder_fact(who, "built", "engineer"),
    ]
    return name, facts, "canal"


def _bridge(names: _Names, rng: random.Random) -> tuple[str, list[Fact], str]:
    name, river, who = f"the {names.word()} Bridge", f"the {names.word()} River", names.person()
    year, metres = _year(rng), _number(rng, 40, 1900)
    facts = [
        _year_fact("opened", "Year opened", year, "opened", "was opened"),
        _length_fact(f"{metres} metres"),
        Fact("crosses", "River", river,
             ("{name} crosses {value}.", "{name} spans {value}."),
             ("Which river does {name} cross?", "What river does {name} span?"),
             "{name} crosses {value}.", "over {value}"),
        _builder_fact(who, "designed", "architect"),
    ]
    return name, facts, "bridge"


def _town(names: _Names, rng: random.Random) -> tuple[str, list[Fact], str]:
    name, river, region = names.word(), f"the {names.word()} River", names.word()
    year, people = _year(rng), _number(rng, 800, 240000)
    facts = [
        _year_fact("founded", "Year founded", year, "was founded", "was founded"),
        Fact("population", "Population", people,
             ("{name} has a population of {value}.", "About {value} people live in {name}."),
             ("What is the population of {name}?", "How many people live in {name}?"),
             "{name} has a population of {value}.", "home to {value} people"),
        Fact("river", "River", river,
             ("{name} lies on {value}.", "{value} flows through {name}."),
             ("Which river flows through {name}?", "What river is {name} on?"),
             "{name} lies on {value}.", "on {value}"),
        Fact("region", "Region", region,
             ("{name} is a town in the region of {value}.", "{name} is the largest town in {value}."),
             ("In which region is {name}?", "Where is {name}?"),
             "{name} is in {value}.", "in {value}"),
    ]
    return name, facts, "town"


def _person(names: _Names, rng: random.Random) -> tuple[str, list[Fact], str]:
    name, town, job = names.person(), names.word(), rng.choice(_OCCUPATIONS)
    a_job = ("an " if job[0] in "aeiou" else "a ") + job
    year = _year(rng)
    work = f"The {names.word()} {rng.choice(('Letters', 'Garden', 'Tower', 'Songs', 'Map', 'Lamp'))}"
    facts = [
        Fact("born", "Year of birth", year,
             ("{name} was born in {value}.", "Born in {value}, {name} grew up by the sea."),
             ("When was {name} born?", "In what year was {name} born?", "What year was {name} born?"),
             "{name} was born in {value}.", "born in {value}"),
        Fact("birthplace", "Birthplace", town,
             ("{name} was born in the town of {value}.", "{name} came from {value}."),
             ("Where was {name} born?", "Which town was {name} born in?", "Where did {name} come from?"),
             "{name} was born in {value}.", "from {value}"),
        Fact("occupation", "Occupation", job,
             (f"{{name}} worked as {a_job}.", f"{{name}} was {a_job}."),
             ("What did {name} do for a living?", "What was {name}'s job?", "What was {name}'s occupation?"),
             "{name} was {a_value}.", "OCCUPATION"),
        Fact("work", "Best-known work", work,
             ("{name} is best known for {value}.", "The most famous work of {name} is {value}."),
             ("What is {name} best known for?", "What is {name}'s most famous work?"),
             "{name} is best known for {value}.", "known for {value}"),
    ]
    return name, facts, "person"


def _company(names: _Names, rng: random.Random) -> tuple[str, list[Fact], str]:
    name, town, who = f"{names.word()} {rng.choice(('Works', 'and Sons', 'Company'))}", names.word(), names.person()
    year, product, staff = _year(rng), rng.choice(_PRODUCTS), _number(rng, 12, 9000)
    facts = [
        _year_fact("founded", "Year founded", year, "was founded", "was founded"),
        Fact("founder", "Founder", who,
             ("{name} was founded by {value}.", "{value} started {name}."),
             ("Who founded {name}?", "Who started {name}?", "Who was the founder of {name}?"),
             "{name} was founded by {value}.", "founded by {value}"),
        Fact("product", "Product", product,
             ("{name} makes {value}.", "{name} is known for its {value}."),
             ("What does {name} make?", "What does {name} produce?"),
             "{name} makes {value}.", "making {value}"),
        Fact("town", "Headquarters", town,
             ("{name} is based in {value}.", "The headquarters of {name} are in {value}."),
             ("Where is {name} based?", "Where are the headquarters of {name}?"),
             "{name} is based in {value}.", "based in {value}"),
        Fact("staff", "Employees", staff,
             ("{name} employs {value} people.",),
             ("How many people does {name} employ?", "How many employees does {name} have?"),
             "{name} employs {value} people.", "with {value} employees"),
    ]
    return name, facts, "company"


def _peak(names: _Names, rng: random.Random) -> tuple[str, list[Fact], str]:
    name, land, who = f"Mount {names.word()}", names.word(), names.person()
    height, year = _number(rng, 900, 7900), _year(rng)
    facts = [
        Fact("height", "Height", f"{height} metres",
             ("{name} is {value} high.", "{name} rises {value} above sea level."),
             ("How high is {name}?", "What is the height of {name}?", "How tall is {name}?"),
             "{name} is {value} high.", "{value} high"),
        Fact("land", "Country", land,
             ("{name} is the highest mountain in {value}.", "{name} stands in {value}."),
             ("In which country is {name}?", "Where is {name}?", "Which country is {name} in?"),
             "{name} is in {value}.", "in {value}"),
        Fact("climbed", "First climbed", year,
             ("{name} was first climbed in {value}.", "The first ascent of {name} was in {value}."),
             ("When was {name} first climbed?", "In what year was {name} first climbed?"),
             "{name} was first climbed in {value}.", "first climbed in {value}"),
        _builder_fact(who, "first climbed", "climber"),
    ]
    return name, facts, "mountain"


_MAKERS = (_canal, _bridge, _town, _person, _company, _peak)


_YEAR_QUESTIONS = {
    "opened": ("When did {name} open?", "In what year did {name} open?", "What year did {name} open?",
               "When was {name} opened?"),
    "founded": ("When was {name} founded?", "In what year was {name} founded?",
                "What year was {name} founded?", "When was {name} established?"),
}  # fmt: skip


def _year_fact(key: str, label: str, year: str, active: str, passive: str) -> Fact:
    return Fact(
        key, label, year,
        (f"{{name}} {active} in {{value}}.", f"In {{value}}, {{name}} {passive}."),
        _YEAR_QUESTIONS[key],
        f"{{name}} {active} in {{value}}.",
        f"{active.removeprefix('was ')} in {{value}}",
    )


def _length_fact(length: str) -> Fact:
    return Fact(
        "length", "Length", length,
        ("{name} is {value} long.", "{name} has a length of {value}."),
        ("How long is {name}?", "What is the length of {name}?"),
        "{name} is {value} long.",
        "{value} long",
    )


def _builder_fact(who: str, verb: str, role: str) -> Fact:
    return Fact(
        "builder", role.capitalize(), who,
        (f"{{name}} was {verb} by the {role} {{value}}.", f"The {role} {{value}} {verb} {{name}}."),
        (f"Who {verb} {{name}}?", f"Which {role} {verb} {{name}}?"),
        f"{{name}} was {verb} by {{value}}.",
        f"{verb} by {{value}}",
    )


def make_passage(rng: random.Random, names: _Names) -> Passage:
    """An invented subject with three to five facts told in shuffled, varied sentences."""
    maker = rng.choice(_MAKERS)
    name, facts, noun = maker(names, rng)
    rng.shuffle(facts)
    facts = facts[: rng.randint(3, len(facts))]
    sentences = []
    for position, fact in enumerate(facts):
        subject = name if position == 0 or maker is _person or rng.random() < 0.6 else "it"
        sentence = rng.choice(fact.sentences).format(name=subject, value=fact.value)
        sentences.append(sentence[0].upper() + sentence[1:])
    return Passage(name, maker.__name__.strip("_"), tuple(facts), " ".join(sentences),
                   summarize(name, noun, facts))


def summarize(name: str, noun: str, facts: list[Fact]) -> str:
    """One sentence from the passage's own facts: "The X Bridge is a bridge over ..., ... and ..."."""
    clauses = []
    for fact in facts:
        if fact.clause == "OCCUPATION":
            noun = fact.value
        else:
            clauses.append(fact.clause.format(value=fact.value))
    clauses = clauses[:3]
    listed = clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + " and " + clauses[-1]
    article = "an" if noun[0] in "aeiou" else "a"
    verb = "was" if noun in (*_OCCUPATIONS, "person") else "is"
    return _capitalize(f"{name} {verb} {article} {noun} {listed}.")


def answer(passage: Passage, fact: Fact) -> str:
    """The response to a question about ``fact``: one sentence that restates it."""
    return _capitalize(claim(passage, fact, fact.value) + ".")


def claim(passage: Passage, fact: Fact, value: str) -> str:
    """What the passage would say if ``fact`` had ``value``, as a clause: "the Lindmoor Canal opened in 1823"."""
    a_value = ("an " if value[0] in "aeiou" else "a ") + value
    return fact.answer.format(name=passage.name, value=value, a_value=a_value).rstrip(".")


def _capitalize(text: str) -> str:
    return text[0].upper() + text[1:]


def passage_pool(seed: int, count: int, *, heldout: bool, taken: set[str]) -> list[Passage]:
    """``count`` passages whose names all come from one pool (train or held-out)."""
    rng = random.Random(f"passages-{seed}-{heldout}")
    names = _Names(rng, heldout, taken)
    return [make_passage(rng, names) for _ in range(count)]
