"""The mini-Pile's mathematics: school arithmetic in the style of DeepMind Mathematics.

The Pile's "DM Mathematics" component is generated question/answer text (Saxton et al. 2019);
ours is generated the same way from a fixed seed, so it is the same on every machine.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from fractions import Fraction

SEED = 2020
PROBLEMS_PER_DOCUMENT = 10
DOCUMENTS = 1200


def _add(rng: random.Random) -> tuple[str, str]:
    a, b = rng.randint(-999, 999), rng.randint(-999, 999)
    return rng.choice(("What is {a} + {b}?", "Calculate {a} + {b}.", "Add {a} and {b}.")).format(a=a, b=b), str(a + b)


def _subtract(rng: random.Random) -> tuple[str, str]:
    a, b = rng.randint(-999, 999), rng.randint(-999, 999)
    question = rng.choice(("What is {a} - {b}?", "Subtract {b} from {a}.", "Calculate {a} - {b}."))
    return question.format(a=a, b=b), str(a - b)


def _multiply(rng: random.Random) -> tuple[str, str]:
    a, b = rng.randint(-99, 99), rng.randint(-99, 99)
    question = rng.choice(("What is {a} times {b}?", "Multiply {a} and {b}.", "Calculate {a}*{b}."))
    return question.format(a=a, b=b), str(a * b)


def _divide(rng: random.Random) -> tuple[str, str]:
    b = rng.choice([n for n in range(-30, 31) if n != 0])
    answer = rng.randint(-60, 60)
    question = rng.choice(("What is {a} divided by {b}?", "Divide {a} by {b}.", "Calculate {a}/{b}."))
    return question.format(a=answer * b, b=b), str(answer)


def _remainder(rng: random.Random) -> tuple[str, str]:
    a, b = rng.randint(10, 999), rng.randint(2, 40)
    return f"Calculate the remainder when {a} is divided by {b}.", str(a % b)


def _let(rng: random.Random) -> tuple[str, str]:
    a, b, c = rng.randint(-50, 50), rng.randint(-50, 50), rng.randint(-9, 9)
    if rng.random() < 0.5:
        return f"Let x = {a} + {b}. What is x * {c}?", str((a + b) * c)
    return f"Let y = {a} - {b}. Let z = y + {c}. What is z?", str(a - b + c)


def _round(rng: random.Random) -> tuple[str, str]:
    places = rng.randint(0, 3)
    number = Fraction(rng.randint(-999_999, 999_999), 10_000)
    text = f"{float(number):.4f}"
    rounded = round(number, places)  # Fraction rounds half to even, exactly
    if places == 0:
        return f"Round {text} to the nearest integer.", str(int(rounded))
    names = {1: "one decimal place", 2: "two decimal places", 3: "three decimal places"}
    return f"Round {text} to {names[places]}.", f"{float(rounded):.{places}f}"


def _compare(rng: random.Random) -> tuple[str, str]:
    a, b = rng.randint(-500, 500), rng.randint(-500, 500)
    kind = rng.randint(0, 2)
    if kind == 0:
        return f"Is {a} greater than {b}?", "True" if a > b else "False"
    if kind == 1:
        return f"Is {a} less than or equal to {b}?", "True" if a <= b else "False"
    while b == a:
        b = rng.randint(-500, 500)
    word = rng.choice(("bigger", "smaller"))
    answer = max(a, b) if word == "bigger" else min(a, b)
    return f"Which is {word}: {a} or {b}?", str(answer)


def _fraction(rng: random.Random) -> tuple[str, str]:
    a = Fraction(rng.randint(1, 9), rng.randint(2, 9))
    b = Fraction(rng.randint(1, 9), rng.randint(2, 9))
    return f"What is {a} + {b}? Give the answer as a fraction in lowest terms.", str(a + b)


PROBLEMS: tuple[Callable[[random.Random], tuple[str, str]], ...] = (
    _add, _subtract, _multiply, _divide, _remainder, _let, _round, _compare, _fraction,
)  # fmt: skip


def documents(seed: int = SEED, count: int = DOCUMENTS) -> list[str]:
    """``count`` documents of ``PROBLEMS_PER_DOCUMENT`` question/answer pairs each."""
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        pairs = [rng.choice(PROBLEMS)(rng) for _ in range(PROBLEMS_PER_DOCUMENT)]
        texts.append("\n".join(f"Question: {q}\nAnswer: {a}" for q, a in pairs))
    return texts
