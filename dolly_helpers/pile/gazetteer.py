"""The mini-Pile's gazetteer: short reference entries about invented places, people and firms.

Like the stubs of an encyclopedia, each entry gives its subject's facts twice, in a fact box
and in prose, so the same names and numbers come back within a few lines. The Pile's Wikipedia
is full of such entries, and databricks-dolly-15k took its passages from Wikipedia: reading
them is how a model learns to look back and copy a name it was just told. Names come from the
training pool of :mod:`dolly_helpers.tiny.passages`, never from the held-out one.
"""

from __future__ import annotations

from ..tiny.passages import passage_pool

SEED = 2022
DOCUMENTS = 6000


def entry(passage) -> str:
    """One entry: the title, a one-line summary, the fact box, then the passage's prose."""
    box = "\n".join(f"{fact.label}: {fact.value}" for fact in passage.facts)
    title = passage.name[0].upper() + passage.name[1:]
    return f"{title}\n\n{passage.summary}\n\n{box}\n\n{passage.text}"


def documents(seed: int = SEED, count: int = DOCUMENTS) -> list[str]:
    """The component's entries, the same for a given seed on every machine."""
    return [entry(p) for p in passage_pool(seed, count, heldout=False, taken=set())]
