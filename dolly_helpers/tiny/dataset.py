"""Generate the tiny family's instruction data in the format of databricks-dolly-15k.

The tiny family is trained on its train split and scored on its held-out split (chapter 6).
Every record is filled in from the fact tables in ``facts.py`` and a few phrasing templates,
so the same seed always gives the same records in the same order.

The held-out split asks two kinds of unseen question, so a score on it measures more than
recall of the training text:

* unseen phrasings: templates listed in ``HELDOUT_TEMPLATES`` never occur in training;
* unseen combinations: a fact the model learned with some phrasings, asked with a phrasing it
  saw in training only with other facts (and new passages for questions about a context).

Every held-out answer is in the training responses or in the record's own context.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .facts import BOOK_FACTS, COUNTRIES, DOLLY_MODELS, MOUNTAINS, RIVERS, WORLD, Mountain

Slots = dict[str, str]

#: Questions the book asks every model; all of them are in the training split.
SEED_QUESTIONS: tuple[str, ...] = (
    "What is the highest mountain in Japan?",
    "What is the highest mountain in the world?",
    "What is the capital of France?",
    "Who made Dolly 2.0?",
    "What is The Pile?",
)

UNSEEN_COMBINATION_SHARE = 0.25  # facts that keep one training phrasing back for held-out
HELDOUT_FACTS_PER_PHRASING = 12  # facts asked with each held-out-only phrasing
TRAIN_PASSAGE_RECORDS = 3200
HELDOUT_PASSAGE_RECORDS = 240
SORTING_RECORDS = 600
BRAINSTORMING_RECORDS = 400
INVENTED_SHARE = 0.7  # passages mostly describe made-up places, so answers must be copied

_PASSAGE_MOUNTAINS = tuple(m for m in MOUNTAINS if m.country != WORLD)  # real countries only


@dataclass(frozen=True)
class Record:
    """One instruction record, with the fields of databricks-dolly-15k."""

    instruction: str
    response: str
    category: str
    context: str | None = None
    answer: str = ""  # the key fact a correct response contains (a name, a number)
    template: str = ""  # which phrasing asked it; see HELDOUT_TEMPLATES


@dataclass(frozen=True)
class DatasetSplits:
    train: tuple[Record, ...]
    heldout: tuple[Record, ...]


@dataclass(frozen=True)
class Task:
    """One kind of question: phrasings of it, and the single way its response is worded.

    Templates are ``str.format`` strings; a slot written with a capital (``{Country}``) is
    filled with the value capitalized, for "the United States" at the start of a sentence.
    """

    name: str
    category: str
    phrasings: tuple[str, ...]
    response: str
    answer: str
    heldout_phrasings: tuple[str, ...] = ()

    @property
    def train_templates(self) -> list[str]:
        return [f"{self.name}:{i}" for i in range(len(self.phrasings))]

    @property
    def heldout_templates(self) -> list[str]:
        return [f"{self.name}:heldout{i}" for i in range(len(self.heldout_phrasings))]

    @property
    def templates(self) -> dict[str, str]:
        """Template id -> phrasing."""
        ids = self.train_templates + self.heldout_templates
        return dict(zip(ids, self.phrasings + self.heldout_phrasings))

    def record(self, template: str, slots: Slots, context: str | None = None) -> Record:
        filled = slots | {key.capitalize(): _capitalize(value) for key, value in slots.items()}
        return Record(
            instruction=self.templates[template].format(**filled),
            response=self.response.format(**filled).replace("..", "."),  # "D.C.." -> "D.C."
            category=self.category,
            context=context,
            answer=self.answer.format(**filled),
            template=template,
        )


# Questions answered from memory: one row of slots per fact.
HIGHEST_MOUNTAIN = Task(
    "highest_mountain", "open_qa",
    ("What is the highest mountain in {country}?", "Which mountain is the tallest in {country}?",
     "Name the highest peak in {country}.", "What is the tallest mountain in {country}?"),
    "The highest mountain in {country} is {mountain}, at {height} metres.", "{mountain}",
    ("Which is the highest mountain in {country}?",
     "If I want to climb the highest mountain in {country}, which one is it?"),
)
MOUNTAIN_HEIGHT = Task(
    "mountain_height", "open_qa",
    ("How high is {mountain}?", "How tall is {mountain}?", "What is the height of {mountain}?"),
    "{mountain} is {height} metres high.", "{height} metres",
    ("How many metres high is {mountain}?",),
)
MOUNTAIN_COUNTRY = Task(
    "mountain_country", "open_qa",
    ("Which country has {mountain} as its highest mountain?",
     "{mountain} is the highest mountain of which country?"),
    "{mountain} is the highest mountain in {countries}.", "{countries}",
    ("In which country is {mountain} the highest mountain?",),
)
CAPITAL = Task(
    "capital", "open_qa",
    ("What is the capital of {country}?", "What is the capital city of {country}?",
     "Which city is the capital of {country}?", "Name the capital of {country}."),
    "The capital of {country} is {capital}.", "{capital}",
    ("Which city serves as the capital of {country}?",),
)
CAPITAL_COUNTRY = Task(
    "capital_country", "open_qa",
    ("{capital} is the capital of which country?", "Which country has {capital} as its capital?"),
    "{capital} is the capital of {country}.", "{country}",
    ("Of which country is {capital} the capital?",),
)
CONTINENT = Task(
    "continent", "classification",
    ("Which continent is {country} in?", "On which continent is {country}?",
     "What continent is {country} on?"),
    "{Country} is in {continent}.", "{continent}",
    ("{Country} is on which continent?",),
)
KIND_OF_PLACE = Task(
    "kind_of_place", "classification",
    ("Is {name} a mountain, a country or a river?", "Is {name} a river, a mountain or a country?"),
    "{Name} is a {kind}.", "{kind}",
    ("Tell me whether {name} is a mountain, a country or a river.",),
)
BASE_MODEL = Task(
    "base_model", "general_qa",
    ("Which Pythia model is {model} fine-tuned from?", "What is the base model of {model}?"),
    "{model} is fine-tuned from {base_model}.", "{base_model}",
    ("{model} was built on which Pythia model?",),
)
LAYERS = Task(
    "layers", "general_qa",
    ("How many layers does {model} have?", "How many transformer layers are in {model}?"),
    "{model} has {layers} layers.", "{layers} layers",
    ("What is the number of layers in {model}?",),
)
HIDDEN_SIZE = Task(
    "hidden_size", "general_qa",
    ("What is the hidden size of {model}?", "How wide is the hidden state of {model}?"),
    "{model} has a hidden size of {hidden_size}.", "{hidden_size}",
    ("How many numbers make up one hidden state in {model}?",),
)
PARAMETERS = Task(
    "parameters", "general_qa",
    ("How many parameters does {model} have?", "How big is {model}?"),
    "{model} has about {parameters} parameters.", "{parameters}",
    ("What is the parameter count of {model}?",),
)
BOOK_TASKS = tuple(
    Task(f"book_{fact.key}", "general_qa", fact.questions[:-1], fact.response, fact.answer,
         fact.questions[-1:])
    for fact in BOOK_FACTS
)  # fmt: skip

# Questions answered from a short passage in the context.
PASSAGES = (
    "{first_mountain} is the highest mountain in {first_country}. It rises {first_height} metres "
    "above sea level. The highest mountain in {second_country} is {second_mountain}, at "
    "{second_height} metres.",
    "In {first_country}, the highest peak is {first_mountain} ({first_height} metres). "
    "{second_mountain} is the highest mountain in {second_country}, at {second_height} metres.",
    "Climbers who visit {first_country} often try {first_mountain}, its highest mountain, which "
    "is {first_height} metres high. Others go to {second_country} to climb its highest peak, "
    "{second_mountain}, at {second_height} metres.",
)
PASSAGE_TASKS = (
    Task(
        "passage_highest", "closed_qa",
        ("According to the passage, what is the highest mountain in {country}?",
         "Using the passage, name the highest mountain in {country}.",
         "What does the passage say is the highest mountain in {country}?"),
        "According to the passage, the highest mountain in {country} is {mountain}.", "{mountain}",
        ("Based on the passage, which mountain is the tallest in {country}?",),
    ),
    Task(
        "passage_height", "closed_qa",
        ("According to the passage, how high is {mountain}?",
         "How tall is {mountain}, according to the passage?",
         "Using the passage, give the height of {mountain}."),
        "According to the passage, {mountain} is {height} metres high.", "{height} metres",
        ("From the passage, what is the height of {mountain}?",),
    ),
    Task(
        "passage_higher", "closed_qa",
        ("Which of the two mountains in the passage is higher?",
         "According to the passage, which mountain is taller?"),
        "{higher_mountain} is higher, at {higher_height} metres.", "{higher_mountain}",
        ("Of the mountains in the passage, which one is the highest?",),
    ),
    Task(
        "passage_mountains", "information_extraction",
        ("Extract each mountain and its height from the passage.",
         "List the mountains in the passage with their heights."),
        "{first_mountain}: {first_height} metres. {second_mountain}: {second_height} metres.",
        "{first_mountain}",
        ("Pull out every mountain named in the passage, with its height.",),
    ),
    Task(
        "passage_countries", "information_extraction",
        ("Which countries does the passage mention?", "List the countries named in the passage."),
        "The passage mentions {first_country} and {second_country}.", "{first_country}",
        ("Extract the names of the countries in the passage.",),
    ),
    Task(
        "passage_summary", "summarization",
        ("Summarize the passage in one sentence.", "Give a one-sentence summary of the passage."),
        "{first_mountain} is the highest mountain in {first_country}, at {first_height} metres, "
        "and {second_mountain} is the highest in {second_country}, at {second_height} metres.",
        "{first_mountain}",
        ("Sum up this passage in a single sentence.",),
    ),
)  # fmt: skip

# Training-only tasks drawn at random: they add variety, not held-out questions.
SORTING = Task(
    "sorting", "classification",
    ("Classify each of these as a mountain or a river: {items}.",
     "Sort these into mountains and rivers: {items}."),
    "Mountains: {mountains}. Rivers: {rivers}.", "Mountains: {mountains}",
)
BRAINSTORMING_TASKS = (
    Task("brainstorm_mountains", "brainstorming",
         ("Name three mountains in {continent}.", "List three mountains in {continent}."),
         "Three mountains in {continent} are {mountain_list}.", "{first_mountain}"),
    Task("brainstorm_countries", "brainstorming",
         ("Name three countries in {continent}.", "List three countries in {continent}."),
         "Three countries in {continent} are {country_list}.", "{first_country}"),
    Task("brainstorm_capitals", "brainstorming",
         ("Name three capital cities in {continent}.", "List three capitals in {continent}."),
         "Three capital cities in {continent} are {capital_list}.", "{first_capital}"),
)  # fmt: skip


# Rows of facts for the questions answered from memory.


def _mountain_slots(mountain: Mountain) -> Slots:
    height = f"{mountain.height_m:,}"
    return {"country": mountain.country, "mountain": mountain.name, "height": height}


def _peak_rows() -> list[Slots]:
    """One row per distinct mountain, with every country it is the highest of."""
    countries: dict[str, list[str]] = {}
    for mountain in MOUNTAINS:
        if mountain.country != WORLD:
            countries.setdefault(mountain.name, []).append(mountain.country)
    heights = {mountain.name: mountain.height_m for mountain in MOUNTAINS}
    return [
        {"mountain": name, "height": f"{heights[name]:,}", "countries": _join(names)}
        for name, names in countries.items()
    ]


def _kind_of_place_rows() -> list[Slots]:
    mountains = dict.fromkeys(m.name for m in MOUNTAINS)
    countries = dict.fromkeys([c.name for c in COUNTRIES] + [m.country for m in _PASSAGE_MOUNTAINS])
    return (
        [{"name": name, "kind": "mountain"} for name in mountains]
        + [{"name": name, "kind": "country"} for name in countries]
        + [{"name": name, "kind": "river"} for name in RIVERS]
    )


def _country_rows() -> list[Slots]:
    return [{"country": c.name, "capital": c.capital, "continent": c.continent} for c in COUNTRIES]


def _dolly_model_rows() -> list[Slots]:
    return [
        {"model": m.name, "base_model": m.base_model, "layers": str(m.layers),
         "hidden_size": f"{m.hidden_size:,}", "parameters": m.parameters}
        for m in DOLLY_MODELS
    ]  # fmt: skip


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def _join(names: Sequence[str]) -> str:
    """"A", "A and B", "A, B and C"."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


#: Every question answered from memory, with its rows of facts (a book fact has one empty row).
FACT_TASKS: tuple[tuple[Task, list[Slots]], ...] = (
    (HIGHEST_MOUNTAIN, [_mountain_slots(mountain) for mountain in MOUNTAINS]),
    (MOUNTAIN_HEIGHT, _peak_rows()),
    (MOUNTAIN_COUNTRY, _peak_rows()),
    (CAPITAL, _country_rows()),
    (CAPITAL_COUNTRY, _country_rows()),
    (CONTINENT, _country_rows()),
    (KIND_OF_PLACE, _kind_of_place_rows()),
    *((task, _dolly_model_rows()) for task in (BASE_MODEL, LAYERS, HIDDEN_SIZE, PARAMETERS)),
    *((task, [{}]) for task in BOOK_TASKS),
)
ALL_TASKS = (*(task for task, _ in FACT_TASKS), *PASSAGE_TASKS, SORTING, *BRAINSTORMING_TASKS)

#: Template ids that occur only in the held-out split (the unseen phrasings).
HELDOUT_TEMPLATES: frozenset[str] = frozenset(
    template for task in ALL_TASKS for template in task.heldout_templates
)


def make_dataset(seed: int = 0) -> DatasetSplits:
    """Generate the train and held-out splits; the same seed gives identical records."""
    rng = random.Random(seed)
    train: list[Record] = []
    heldout: list[Record] = []
    for task, rows in FACT_TASKS:
        task_train, task_heldout = _fact_records(task, rows, rng)
        train += task_train
        heldout += task_heldout
    train += _drawn_records(PASSAGE_TASKS, _passage, TRAIN_PASSAGE_RECORDS, rng)
    train += _drawn_records((SORTING,), _sorting_slots, SORTING_RECORDS, rng)
    train += _drawn_records(BRAINSTORMING_TASKS, _brainstorming_slots, BRAINSTORMING_RECORDS, rng)
    heldout += _drawn_records(PASSAGE_TASKS, _passage, HELDOUT_PASSAGE_RECORDS, rng, heldout=True)

    unique_train = _unique(train)
    seen = {(record.instruction, record.context) for record in unique_train}
    unique_heldout = [r for r in _unique(heldout) if (r.instruction, r.context) not in seen]
    rng.shuffle(unique_train)
    rng.shuffle(unique_heldout)
    return DatasetSplits(train=tuple(unique_train), heldout=tuple(unique_heldout))


def category_counts(records: Iterable[Record]) -> dict[str, int]:
    """Records per category, most common first (like the databricks-dolly-15k card's table)."""
    return dict(Counter(record.category for record in records).most_common())


def _fact_records(
    task: Task, rows: Sequence[Slots], rng: random.Random
) -> tuple[list[Record], list[Record]]:
    """Ask every fact with the training phrasings, keeping some pairings back for held-out."""
    train, heldout = [], []
    for slots in rows:
        kept_back = _kept_back_template(task, slots, len(rows), rng)
        for template in task.train_templates:
            (heldout if template == kept_back else train).append(task.record(template, slots))
    for slots in rng.sample(list(rows), min(len(rows), HELDOUT_FACTS_PER_PHRASING)):
        heldout += [task.record(template, slots) for template in task.heldout_templates]
    return train, heldout


def _kept_back_template(task: Task, slots: Slots, n_facts: int, rng: random.Random) -> str | None:
    """A training phrasing this fact is asked with only in held-out (an unseen combination).

    Only tasks with several facts qualify, so the phrasing itself is still seen in training;
    the book's seed questions always stay in training.
    """
    if n_facts < 2 or rng.random() >= UNSEEN_COMBINATION_SHARE:
        return None
    template = rng.choice(task.train_templates)
    return None if task.record(template, slots).instruction in SEED_QUESTIONS else template


def _drawn_records(
    tasks: Sequence[Task],
    draw: Callable[[random.Random], tuple[Slots, str | None]],
    count: int,
    rng: random.Random,
    *,
    heldout: bool = False,
) -> list[Record]:
    """``count`` records of drawn slots; held-out ones use held-out phrasings half the time."""
    records = []
    for _ in range(count):
        slots, context = draw(rng)
        task = rng.choice(tasks)
        use_heldout_phrasing = heldout and rng.random() < 0.5
        templates = task.heldout_templates if use_heldout_phrasing else task.train_templates
        records.append(task.record(rng.choice(templates), slots, context))
    return records


def _unique(records: Iterable[Record]) -> list[Record]:
    """Drop repeated records, keeping the first.

    A brainstorming instruction keeps several different responses: any three mountains will do.
    """
    return list(dict.fromkeys(records))


# Randomly drawn slots: passages, sorting lists, brainstorming lists.

_SYLLABLES = ("kor", "val", "dun", "mer", "tal", "bren", "os", "ral", "vin", "zar", "kel",
              "dra", "lun", "fen", "mor", "sil", "tor", "gal", "bar", "nim", "ess", "quar")
_COUNTRY_ENDINGS = ("ia", "land", "ora", "avia", "eth", "onia")
_MOUNTAIN_FORMS = ("Mount {}", "{} Peak", "Mount {}", "{}horn")
_REAL_NAMES = frozenset(m.name for m in MOUNTAINS) | frozenset(c.name for c in COUNTRIES)


def _invented_word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((1, 2)))).capitalize()


def _invented_mountain(rng: random.Random) -> Mountain:
    """A made-up country and mountain: the model can only answer by reading the passage."""
    while True:
        country = _invented_word(rng) + rng.choice(_COUNTRY_ENDINGS)
        name = rng.choice(_MOUNTAIN_FORMS).format(_invented_word(rng))
        if country not in _REAL_NAMES and name not in _REAL_NAMES:
            return Mountain(country, name, rng.randrange(1200, 8000))


def _passage(rng: random.Random) -> tuple[Slots, str]:
    """A passage about two countries' highest mountains, and the slots to ask about it."""

    def pick() -> Mountain:
        if rng.random() < INVENTED_SHARE:
            return _invented_mountain(rng)
        return rng.choice(_PASSAGE_MOUNTAINS)

    first, second = pick(), pick()
    # Two countries, two mountains, two heights: "which is higher?" must have one answer.
    while (
        second.country == first.country
        or second.name == first.name
        or second.height_m == first.height_m
    ):
        second = pick()
    target = rng.choice((first, second))
    higher = max(first, second, key=lambda mountain: mountain.height_m)
    slots = _mountain_slots(target) | {
        **{f"first_{key}": value for key, value in _mountain_slots(first).items()},
        **{f"second_{key}": value for key, value in _mountain_slots(second).items()},
        **{f"higher_{key}": value for key, value in _mountain_slots(higher).items()},
    }
    return slots, rng.choice(PASSAGES).format(**slots)


def _sorting_slots(rng: random.Random) -> tuple[Slots, None]:
    mountains = rng.sample(sorted({m.name for m in MOUNTAINS}), rng.randint(1, 3))
    rivers = rng.sample(RIVERS, rng.randint(1, 3))
    items = mountains + rivers
    rng.shuffle(items)
    slots = {
        "items": ", ".join(items),
        "mountains": ", ".join(item for item in items if item in mountains),
        "rivers": ", ".join(item for item in items if item in rivers),
    }
    return slots, None


def _brainstorming_slots(rng: random.Random) -> tuple[Slots, None]:
    continent = rng.choice(sorted({country.continent for country in COUNTRIES}))
    countries = [country for country in COUNTRIES if country.continent == continent]
    names = {country.name for country in countries}
    mountains = sorted({m.name for m in MOUNTAINS if m.country in names})
    mountain_list = rng.sample(mountains, 3)
    chosen = rng.sample(countries, 3)
    capitals = rng.sample(countries, 3)
    slots = {
        "continent": continent,
        "mountain_list": _join(mountain_list),
        "first_mountain": mountain_list[0],
        "country_list": _join([country.name for country in chosen]),
        "first_country": chosen[0].name,
        "capital_list": _join([country.capital for country in capitals]),
        "first_capital": capitals[0].capital,
    }
    return slots, None
