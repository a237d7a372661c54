"""The tiny Dolly family's instruction data, in the format of databricks-dolly-15k.

Stage 2 of the recipe (chapter 3): the tiny Pythia models, pretrained on the mini-Pile, are
fine-tuned on these records. All 8 of databricks-dolly-15k's categories occur. The same seed
always gives the same records in the same order.

The held-out splits share no passage, invented name or phrasing with training:

* ``passage``: closed QA and extraction on passages about names from a separate pool;
* ``phrasing``: facts the instruction data teaches, asked in wordings it never uses;
* ``knowledge``: facts about countries (``facts.PRETRAINING_ONLY_COUNTRIES``) that occur only in
  the mini-Pile's encyclopedia, never in an instruction record: stage 1 must have taught them.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .facts import BOOK_FACTS, taught_in_instructions
from .passages import Passage, answer, passage_pool
from .relations import RELATIONS, Relation, Slots, capitalized, country_rows, fill, place_rows, relation_rows

#: Questions the book asks every model; all of them are in the training split.
CATEGORIES = ("open_qa", "general_qa", "closed_qa", "information_extraction", "classification",
              "summarization", "brainstorming", "creative_writing")  # fmt: skip
HELDOUT_KINDS = ("passage", "phrasing", "knowledge")
TRAIN_PASSAGES = 9000
HELDOUT_PASSAGES = 200
PHRASING_RECORDS = 160


@dataclass(frozen=True)
class Record:
    """One instruction record, with the fields of databricks-dolly-15k and what scores it."""

    instruction: str
    response: str
    category: str
    context: str | None = None
    answer: str = ""  # the key fact a correct response contains; "; " separates several
    template: str = ""  # "task:phrasing", which wording asked it
    kind: str = ""  # for held-out records: one of HELDOUT_KINDS


@dataclass(frozen=True)
class DatasetSplits:
    train: tuple[Record, ...]
    heldout_by_kind: dict[str, tuple[Record, ...]] = field(default_factory=dict)

    @property
    def heldout(self) -> tuple[Record, ...]:
        """Every held-out record, kind by kind."""
        return tuple(r for kind in HELDOUT_KINDS for r in self.heldout_by_kind.get(kind, ()))


def relation_record(relation: Relation, phrasing: int, slots: Slots, kind: str = "") -> Record:
    wordings = relation.phrasings + relation.heldout_phrasings
    return Record(
        instruction=fill(wordings[phrasing], slots),
        response=fill(relation.response, slots),
        category=relation.category,
        answer=slots[relation.answer],
        template=f"{relation.name}:{phrasing}",
        kind=kind,
    )


def _fact_records(rng: random.Random) -> tuple[list[Record], list[Record], list[Record]]:
    """Training records, held-out phrasings of taught facts, and facts only stage 1 taught."""
    train, phrasing, knowledge = [], [], []
    for relation in RELATIONS:
        n_train = len(relation.phrasings)
        for slots in relation_rows(relation):
            if not taught_in_instructions(slots.get("country", "")):
                knowledge.append(relation_record(relation, rng.randrange(n_train), slots, "knowledge"))
                continue
            train += [relation_record(relation, i, slots) for i in range(n_train)]
            phrasing += [relation_record(relation, n_train + i, slots, "phrasing")
                         for i in range(len(relation.heldout_phrasings))]  # fmt: skip
    for fact in BOOK_FACTS:
        for i, question in enumerate(fact.questions):
            record = Record(question, fact.response, "open_qa", answer=fact.answer, template=f"book_{fact.key}:{i}")
            if i < len(fact.questions) - 1:
                train.append(record)
            else:
                phrasing.append(Record(**{**record.__dict__, "kind": "phrasing"}))
    knowledge = [r for r in knowledge if r.template.split(":")[0] not in ("kind_of_place",)]
    return train, phrasing, knowledge


_QUESTION_LEADS = ("Based on the text, ", "According to the passage, ", "From the passage, ",
                   "Using the text, ", "Based on this paragraph, ", "Given the text, ",
                   "Read the passage and answer: ", "", "", "")  # fmt: skip
_SUMMARY_ASKS = ("Summarize the passage in one sentence.", "Give a one-sentence summary of the text.",
                 "Sum up this paragraph in a single sentence.", "What is this passage about?",
                 "Write a short summary of the text.")  # fmt: skip


def _name_as_asked(passage: Passage, rng: random.Random) -> str:
    """The subject as a reader might type it: sometimes "the Lindmoor canal" for "the Lindmoor Canal"."""
    words = passage.name.split()
    if len(words) > 2 and rng.random() < 0.3:
        words[-1] = words[-1].lower()
    return " ".join(words)


def _ask(lead: str, question: str) -> str:
    if lead.endswith(", "):
        first = question.split()[0]
        if first not in ("I",) and not first[1:2].isupper():
            question = question[0].lower() + question[1:]
    return lead + question


def passage_records(passage: Passage, rng: random.Random, kind: str = "") -> list[Record]:
    """One or two records about a passage: closed QA, extraction or a summary."""
    roll = rng.random()
    if roll < 0.7 or kind:
        fact = rng.choice(passage.facts)
        question = rng.choice(fact.questions).format(name=_name_as_asked(passage, rng))
        record = Record(_ask(rng.choice(_QUESTION_LEADS), capitalized(question)), answer(passage, fact), "closed_qa",
                        passage.text, fact.value, f"passage_{fact.key}", kind)  # fmt: skip
        if not kind or rng.random() < 0.6:
            return [record]
    if roll < 0.9 or kind:
        facts = rng.sample(passage.facts, k=min(len(passage.facts), rng.choice((1, 2, 2, 3))))
        labels = " and ".join(f.label.lower() for f in facts)
        instruction = rng.choice((
            f"Extract the {labels} of {passage.name} from the passage.",
            f"From the passage, list the {labels} of {passage.name}.",
            f"What are the {labels} of {passage.name}? Use the text.",
            f"Pull out the {labels} from this text.",
        ))  # fmt: skip
        response = "\n".join(f"{f.label}: {f.value}" for f in facts)
        values = "; ".join(f.value for f in facts)
        return [Record(capitalized(instruction), response, "information_extraction", passage.text, values, "passage_extract", kind)]
    return [Record(rng.choice(_SUMMARY_ASKS), passage.summary, "summarization", passage.text,
                   passage.name, "passage_summary")]  # fmt: skip


def _by_continent() -> dict[str, list[Slots]]:
    groups: dict[str, list[Slots]] = {}
    for row in country_rows():
        if taught_in_instructions(row["country"]):
            groups.setdefault(row["continent"], []).append(row)
    return groups


def _list_records(rng: random.Random, count: int) -> list[Record]:
    """Brainstorming and sorting over taught facts: many valid answers, one written down."""
    groups, records = _by_continent(), []
    for _ in range(count):
        continent = rng.choice(sorted(groups))
        rows = rng.sample(groups[continent], k=min(3, len(groups[continent])))
        # one row per mountain: Nepal and China share Mount Everest, which must not be named twice
        with_mountain = list({r["mountain"]: r for r in groups[continent] if "mountain" in r}.values())
        roll = rng.random()
        if roll < 0.35:
            names = _join([r["country"] for r in rows])
            records.append(Record(rng.choice(("Name three countries in {}.", "List three countries in {}.",
                                               "Give me three countries in {}.")).format(continent),
                                  f"Three countries in {continent} are {names}.", "brainstorming",
                                  answer=rows[0]["country"], template="brainstorm_countries"))  # fmt: skip
        elif roll < 0.7 and len(with_mountain) >= 3:
            picked = rng.sample(with_mountain, k=3)
            names = _join([r["mountain"] for r in picked])
            records.append(Record(rng.choice(("Name three mountains in {}.", "List three mountains in {}.",
                                               "Suggest three mountains to climb in {}.")).format(continent),
                                  f"Three mountains in {continent} are {names}.", "brainstorming",
                                  answer=picked[0]["mountain"], template="brainstorm_mountains"))  # fmt: skip
        else:
            places = rng.sample([r for r in place_rows() if r["kind"] != "country"
                                 and taught_in_instructions(r["country"])], k=4)  # fmt: skip
            mountains = _join([p["place"] for p in places if p["kind"] == "mountain"]) or "none"
            rivers = _join([p["place"] for p in places if p["kind"] == "river"]) or "none"
            items = ", ".join(p["place"] for p in places)
            records.append(Record(f"Classify each of these as a mountain or a river: {items}.",
                                  f"Mountains: {mountains}. Rivers: {rivers}.", "classification",
                                  answer=mountains, template="sorting"))  # fmt: skip
    return records


def _writing_records(rng: random.Random, count: int) -> list[Record]:
    """Creative writing and open-ended questions, built from taught facts."""
    rows = [r for r in country_rows() if taught_in_instructions(r["country"]) and "mountain" in r]
    records = []
    for _ in range(count):
        row, roll = rng.choice(rows), rng.random()
        slots = {**row, "Country": capitalized(row["country"])}
        if roll < 0.35:
            records.append(Record(
                rng.choice(("Write a short poem about {mountain}.", "Write a four-line poem about {mountain}.")).format(**row),
                "{mountain} stands in {country},\n{height} metres of rock and snow.\nThe wind goes up, the rivers go down,\n"
                "and the climbers come and go.".format(**row),
                "creative_writing", answer=row["mountain"], template="poem"))  # fmt: skip
        elif roll < 0.6:
            records.append(Record(
                rng.choice(("Write one sentence for a travel guide about {country}.",
                            "Write a sentence inviting tourists to {country}.")).format(**row),
                "Visit {country}, where you can see {capital} and climb {mountain}.".format(**slots),
                "creative_writing", answer=row["capital"], template="travel"))  # fmt: skip
        else:
            records.append(Record(
                rng.choice(("Tell me about {country}.", "What should I know about {country}?",
                            "Describe {country} in two sentences.")).format(**row),
                "{Country} is a country in {continent}, and its capital is {capital}. The highest mountain "
                "in {country} is {mountain}, at {height} metres.".format(**slots),
                "general_qa", answer=row["capital"], template="about_country"))  # fmt: skip
    return records


def _join(names: Sequence[str]) -> str:
    if not names:
        return ""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def make_dataset(seed: int = 0) -> DatasetSplits:
    """The training records (shuffled) and the three held-out splits, the same for a given seed."""
    rng = random.Random(seed)
    train, phrasing, knowledge = _fact_records(rng)
    taken: set[str] = set()
    for passage in passage_pool(seed, TRAIN_PASSAGES, heldout=False, taken=taken, varied=True):
        train += passage_records(passage, rng)
    heldout_passages = [r for p in passage_pool(seed, HELDOUT_PASSAGES, heldout=True, taken=taken, varied=True)
                        for r in passage_records(p, rng, kind="passage")]  # fmt: skip
    train += _list_records(rng, 500) + _writing_records(rng, 500)
    rng.shuffle(train)
    rng.shuffle(phrasing)
    return DatasetSplits(
        train=tuple(_unique(train)),
        heldout_by_kind={
            "passage": tuple(heldout_passages),
            "phrasing": tuple(phrasing[:PHRASING_RECORDS]),
            "knowledge": tuple(knowledge),
        },
    )


def category_counts(records: Iterable[Record]) -> dict[str, int]:
    """How many records of each of databricks-dolly-15k's categories, in its order."""
    counts = Counter(record.category for record in records)
    return {category: counts[category] for category in CATEGORIES if counts[category]}


def _unique(records: Iterable[Record]) -> list[Record]:
    seen, kept = set(), []
    for record in records:
        key = (record.instruction, record.context)
        if key not in seen:
            seen.add(key)
            kept.append(record)
    return kept
