"""Short passages about invented things, and questions only the passage can answer.

The tiny Dolly family learns to read from these (closed QA, information extraction and
summarization, as in databricks-dolly-15k). Every name is made up from syllables, so a model
cannot have met the answer anywhere else; held-out passages use names from a separate pool,
so no training record shares a name or a passage with them.

Two styles: plain passages state one fact per sentence in a few fixed shapes (the mini-Pile's
gazetteer and the multiple-choice suite use them, so they stay as they are); varied passages,
which the instruction data uses, draw names of more shapes and mix in what ordinary prose does:
two facts in one sentence, relative clauses, appositions, fronted phrases, a lower-case "canal",
"the canal" for "it", and sentences that answer no question, some with a second year or place.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
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

# Varied passages draw from these as well.
_MORE_ONSETS = (*_ONSETS, "bl", "cl", "fl", "gl", "pl", "sl", "sk", "sp", "tr", "cr", "ch", "sh", "j", "qu", "kn", "y")
_MORE_VOWELS = (*_VOWELS, "ou", "ie", "ee", "au", "oo")
_MORE_CODAS = (*_CODAS, "sh", "ll", "t", "ng", "x", "sk", "st", "ft", "lt", "rn", "ss")
_MORE_ENDINGS = (*_ENDINGS, "ham", "burg", "field", "port", "wood", "stone", "bury", "ness", "ay", "ow", "ing",
                 "et", "o", "a", "is", "en", "ar", "ic")  # fmt: skip

HELDOUT_NAME_SHARE = 5  # one invented name in five belongs to the held-out pool


def invented_word(rng: random.Random) -> str:
    """A pronounceable made-up word such as "Lindmoor" or "Brastedale"."""
    word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(rng.randint(1, 2)))
    return (word + rng.choice(_ENDINGS)).capitalize()


def varied_word(rng: random.Random) -> str:
    """A made-up word from a wider inventory of sounds, with or without a place-name ending."""
    word = "".join(rng.choice(_MORE_ONSETS) + rng.choice(_MORE_VOWELS) + rng.choice(_MORE_CODAS)
                   for _ in range(rng.choice((1, 1, 2, 2, 3))))  # fmt: skip
    if len(word) < 4 or rng.random() < 0.6:
        word += rng.choice(_MORE_ENDINGS)
    return word.capitalize()


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
    clause: str = ""  # for a summary or an apposition: "opened in {value}"


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

    def __init__(self, rng: random.Random, heldout: bool, taken: set[str], varied: bool = False) -> None:
        self.rng, self.heldout, self.taken, self.varied = rng, heldout, taken, varied

    def word(self, longest: int = 12) -> str:
        draw = varied_word if self.varied else invented_word
        while True:
            word = draw(self.rng)
            if is_heldout_name(word) == self.heldout and word not in self.taken and len(word) <= longest:
                self.taken.add(word)
                return word

    def person(self) -> str:
        if self.varied and self.rng.random() < 0.5:
            return f"{self.word(longest=7)} {self.word()}"
        return f"{self.rng.choice(_FIRST_NAMES)} {self.word()}"

    def kind(self, noun: str) -> str:
        """"Canal" as part of a name, or in varied passages sometimes "canal"."""
        return noun.lower() if self.varied and self.rng.random() < 0.35 else noun

    def river(self) -> str:
        if self.varied and self.rng.random() < 0.4:
            return f"the river {self.word()}"
        return f"the {self.word()} {self.kind('River')}"


def _year(rng: random.Random) -> str:
    return str(rng.randint(1520, 1990))


def _number(rng: random.Random, low: int, high: int) -> str:
    return f"{rng.randint(low, high):,}"


def _canal(names: _Names, rng: random.Random) -> tuple[str, list[Fact], str]:
    name, a, b, who = f"the {names.word()} {names.kind('Canal')}", names.word(), names.word(), names.person()
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
    name, river, who = f"the {names.word()} {names.kind('Bridge')}", names.river(), names.person()
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
    name, river, region = names.word(), names.river(), names.word()
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
    a_job = _with_article(job)
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


_COMPANIES = (("Works", ()), ("and Sons", ()), ("Company", ()), ("Bakery", ("bread", "cakes")),
              ("Brewery", ("beer", "cider")), ("Mills", ("flour", "paper", "cloth")),
              ("Press", ("books", "newspapers")), ("Foundry", ("bells", "iron pipes")),
              ("Shipyard", ("boats", "ships")))  # fmt: skip


def _company(names: _Names, rng: random.Random) -> tuple[str, list[Fact], str]:
    word = names.word()
    suffix, products = rng.choice(_COMPANIES if names.varied else _COMPANIES[:3])
    name, town, who = f"{word} {suffix}", names.word(), names.person()
    year, product, staff = _year(rng), rng.choice(products or _PRODUCTS), _number(rng, 12, 9000)
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
               "When was {name} opened?", "When was {name} completed?", "In which year was {name} completed?"),
    "founded": ("When was {name} founded?", "In what year was {name} founded?",
                "What year was {name} founded?", "When was {name} established?", "When was {name} set up?"),
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
    """An invented subject with three to five facts told in shuffled sentences."""
    maker = rng.choice(_MAKERS)
    name, facts, noun = maker(names, rng)
    rng.shuffle(facts)
    facts = facts[: rng.randint(3, len(facts))]
    kind = maker.__name__.strip("_")
    if names.varied:
        text = _varied_text(name, kind, facts, names, rng)
    else:
        sentences = []
        for position, fact in enumerate(facts):
            subject = name if position == 0 or maker is _person or rng.random() < 0.6 else "it"
            sentence = rng.choice(fact.sentences).format(name=subject, value=fact.value)
            sentences.append(sentence[0].upper() + sentence[1:])
        text = " ".join(sentences)
    return Passage(name, kind, tuple(facts), text, summarize(name, noun, facts))


# What varied passages add to the plain shapes. Asides state nothing a question asks about; some
# name a second year or place, so an answer must come from the right sentence.
_MORE_SENTENCES = {
    "opened": ("{name} was completed in {value}.", "Work on {name} ended in {value}, when it opened."),
    "founded": ("{name} was set up in {value}.", "{name} dates from {value}."),
    "born": ("{name} was born in the year {value}.",),
    "population": ("{name} is home to {value} people.",),
    "staff": ("{name} has {value} employees.", "Today {name} employs {value} people."),
    "length": ("{name} runs for {value}.",),
}
_ASIDES = {
    "canal": ("It once carried {goods} to the port of {place}.", "A towpath runs along its whole length.",
              "It was repaired in {year}.", "Barges still use it in summer."),
    "bridge": ("It is made of {material}.", "It was repaired in {year}.", "It stands near the village of {place}.",
               "It has {small} arches."),
    "town": ("Its market is held every {day}.", "The old church in the centre dates from {year}.",
             "The nearest city is {place}.", "Many of its people work in {trade}."),
    "person": ("{short} died in {year}.", "As a child, {short} spent the summers in {place}.",
               "{short} married in {year}.", "Few letters by {short} survive."),
    "company": ("Its first workshop was in {place}.", "It opened a second factory in {year}.",
                "Its goods are sold in {small} countries."),
    "peak": ("Snow covers its summit all year.", "The nearest village is {place}.",
             "A hut was built below the summit in {year}."),
}
_FRONTED = {
    "canal": ("Dug by hand,", "Straight for most of its length,"),
    "bridge": ("Built of {material},", "Seen from the water,"),
    "town": ("Set among low hills,", "Small but busy,"),
    "person": ("Restless and curious,", "By all accounts shy,"),
    "company": ("Still owned by one family,", "Small at first,"),
    "peak": ("Seen from far away,", "Steep on every side,"),
}
_FILLERS = {
    "goods": ("coal", "timber", "grain", "stone", "wool"),
    "material": ("grey stone", "brick", "iron", "oak"),
    "day": ("Monday", "Wednesday", "Friday", "Saturday"),
    "trade": ("fishing", "farming", "the mills", "the port"),
}


def _varied_text(name: str, kind: str, facts: list[Fact], names: _Names, rng: random.Random) -> str:
    """The facts told as ordinary prose: some sentences hold two facts, some none."""
    sentences, queue, fronted = [], list(facts), False
    while queue:
        subject = name if not sentences else _reference(name, kind, rng)
        roll = rng.random()
        if len(queue) >= 2 and roll < 0.45:
            first, second = queue.pop(0), queue.pop(0)
            subject = name if subject == "it" else subject
            if roll < 0.2:
                sentence = f"{subject} {_predicate(first, rng)} and {_predicate(second, rng)}."
            elif roll < 0.35:
                pronoun = "who" if kind == "person" else "which"
                sentence = f"{subject}, {pronoun} {_predicate(first, rng)}, {_predicate(second, rng)}."
            else:
                sentence = f"{subject}, {_apposition(first)}, {_predicate(second, rng)}."
        else:
            fact = queue.pop(0)
            form = rng.choice(fact.sentences + _MORE_SENTENCES.get(fact.key, ()))
            sentence = form.format(name=subject, value=fact.value)
            if form.startswith("{name} ") and not fronted and rng.random() < 0.2:
                sentence, fronted = f"{rng.choice(_FRONTED[kind])} {sentence}", True
        sentences.append(sentence)
    for aside in rng.sample(_ASIDES[kind], k=rng.choice((0, 1, 1, 2))):
        sentences.insert(rng.randint(1, len(sentences)), aside)
    born = [int(fact.value) for fact in facts if fact.key == "born"]  # a person's aside stays within a life
    slots = {key: rng.choice(options) for key, options in _FILLERS.items()}
    slots.update(place=names.word(), short=name.split()[-1],
                 year=_unlike(facts, lambda: str(born[0] + rng.randint(20, 85)) if born else _year(rng)),
                 small=_unlike(facts, lambda: str(rng.randint(2, 40))))
    return " ".join(_capitalize(sentence.format(**slots)) for sentence in sentences)


def _unlike(facts: list[Fact], draw: Callable[[], str]) -> str:
    """Draw a year or number for an aside until it is none of the facts' values."""
    values = {fact.value for fact in facts}
    while (value := draw()) in values:
        pass
    return value


def _reference(name: str, kind: str, rng: random.Random) -> str:
    """How a later sentence names the subject: the name, "it" or "the canal" (a person: the surname)."""
    roll = rng.random()
    if kind == "person":
        return name.split()[-1] if roll < 0.4 else name
    if roll < 0.3:
        return "it"
    return f"the {kind}" if roll < 0.6 else name


def _predicate(fact: Fact, rng: random.Random) -> str:
    """A fact as what follows its subject: "opened in 1823"."""
    forms = [f for f in (*fact.sentences, *_MORE_SENTENCES.get(fact.key, ()), fact.answer) if f.startswith("{name} ")]
    form = rng.choice(forms).removeprefix("{name} ").rstrip(".")
    return form.format(value=fact.value, a_value=_with_article(fact.value))


def _apposition(fact: Fact) -> str:
    """A fact as a phrase beside its subject: "a composer", "opened in 1823"."""
    if fact.clause == "OCCUPATION":
        return _with_article(fact.value)
    return fact.clause.format(value=fact.value)


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
    return fact.answer.format(name=passage.name, value=value, a_value=_with_article(value)).rstrip(".")


def _with_article(noun: str) -> str:
    """"a painter", "an engineer"."""
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _capitalize(text: str) -> str:
    return text[0].upper() + text[1:]


def passage_pool(seed: int, count: int, *, heldout: bool, taken: set[str], varied: bool = False) -> list[Passage]:
    """``count`` passages whose names all come from one pool (train or held-out), plain or varied."""
    rng = random.Random(f"passages-{seed}-{heldout}" + ("-varied" if varied else ""))
    names = _Names(rng, heldout, taken, varied)
    return [make_passage(rng, names) for _ in range(count)]
