"""The questions the book asks every model size: chapter 4 asks them, chapter 5 compares the
answers, and the speed benchmark times them.

The first five are the seed questions (the first two from the experiment behind the book); the
rest cover the other kinds of task in databricks-dolly-15k's format, several with a passage in
the prompt's ``Input:`` section.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The seed questions, the first two from the experiment behind the book.
SEED_QUESTIONS: tuple[str, ...] = (
    "What is the highest mountain in Japan?",
    "What is the highest mountain in the world?",
    "What is the capital of France?",
    "Who made Dolly 2.0?",
    "What is The Pile?",
)


@dataclass(frozen=True)
class Question:
    """One instruction, with the passage it is about when it has one."""

    instruction: str
    context: str | None = None


#: Invented places, so that a model must read the passage rather than remember.
VELTORIA = (
    "In Veltoria, the highest peak is Mount Arvel (4,812 metres). "
    "Kilimanjaro is the highest mountain in Tanzania, at 5,895 metres."
)
DUNMERIA = (
    "Mount Korval is the highest mountain in Dunmeria. It rises 2,950 metres above sea level. "
    "The highest mountain in Chile is Ojos del Salado, at 6,893 metres."
)
OSRALAND = (
    "Climbers who visit Osraland often try Mount Tavin, its highest mountain, which is 3,405 "
    "metres high. Others go to Peru to climb its highest peak, Huascarán, at 6,768 metres."
)

COMPARISON_QUESTIONS: tuple[Question, ...] = (
    *(Question(instruction) for instruction in SEED_QUESTIONS),
    Question("According to the passage, what is the highest mountain in Veltoria?", VELTORIA),
    Question("What is the capital of Japan?"),
    Question("How high is Mount Kilimanjaro?"),
    Question("Which country has Aconcagua as its highest mountain?"),
    Question("Which continent is Peru in?"),
    Question("Is the Danube a mountain, a country or a river?"),
    Question("How many layers does dolly-v2-12b have?"),
    Question("What is the base model of dolly-v2-7b?"),
    Question("Name three mountains in Asia."),
    Question("According to the passage, how high is Mount Korval?", DUNMERIA),
    Question("Which of the two mountains in the passage is higher?", DUNMERIA),
    Question("Extract each mountain and its height from the passage.", OSRALAND),
    Question("Summarize the passage in one sentence.", OSRALAND),
)
