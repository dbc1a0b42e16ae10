"""Stand-ins for RWKU's utility sets (MMLU, BBH, TruthfulQA, TriviaQA, fluency, general text),
drawn from ``utility_sets.yaml`` or generated (arithmetic, boolean expressions, word sorting)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from types import MappingProxyType
from typing import TypeVar

from .resources import table

T = TypeVar("T")
Records = list[dict[str, object]]
# (question, worked reasoning, answer)
Question = tuple[str, str, str]


def utility_files(rng: random.Random, *, n: int, subject: str) -> dict[str, Records]:
    """The utility stems of one target folder: ``n`` items each, and all of the general text."""
    return {
        "retain_mmlu": _mmlu(rng, n, subject),
        "retain_bbh": _bbh(rng, n, subject),
        "truthful": _truthful(rng, n, subject),
        "triviaqa": _trivia(rng, n, subject),
        "fluency": _fluency(rng, n, subject),
        "general_text": [{"text": text} for text in table("utility_sets")["general_text"]],
    }


def _mmlu(rng: random.Random, n: int, subject: str) -> Records:
    """Five-shot multiple choice, alternating generated arithmetic and drawn general knowledge."""
    records: Records = []
    for i in range(n):
        math = i % 2 == 0
        task, question, choices, answer = _mmlu_item(rng, math=math)
        examples = [_mmlu_example(rng, math=math) for _ in range(5)]
        records.append(
            {
                "task": task,
                "question": question,
                "choices": choices,
                "answer": answer,
                "examples": examples,
                "subject": subject,
            }
        )
    return records


def _mmlu_example(rng: random.Random, *, math: bool) -> dict[str, object]:
    task, question, choices, answer = _mmlu_item(rng, math=math)
    return {"question": question, "subject": task, "choices": choices, "answer": answer}


def _mmlu_item(rng: random.Random, *, math: bool) -> tuple[str, str, list[str], int]:
    """(task, question, shuffled choices, index of the right one)."""
    if math:
        task = "elementary_mathematics"
        question, right, wrong = _arithmetic(rng)
    else:
        item = rng.choice(table("utility_sets")["knowledge"])
        task, question, right, wrong = item["task"], item["question"], item["answer"], item["wrong"]
    choices = [right, *wrong]
    rng.shuffle(choices)
    return task, question, choices, choices.index(right)


def _arithmetic(rng: random.Random) -> tuple[str, str, list[str]]:
    """(question, right answer, three wrong answers near it)."""
    a, b = rng.randrange(2, 40), rng.randrange(2, 40)
    op = rng.choice(("+", "-", "*"))
    value = a + b if op == "+" else a - b if op == "-" else a * b
    wrong = [value + d for d in rng.sample((-3, -2, -1, 1, 2, 3, 10), 3)]
    return f"What is {a} {op} {b}?", str(value), [str(x) for x in wrong]


def _bbh(rng: random.Random, n: int, subject: str) -> Records:
    """Three-shot chain-of-thought prompts, cycling through the tasks."""
    tasks = list(table("utility_sets")["bbh_tasks"].items())
    records: Records = []
    for i in range(n):
        task, description = tasks[i % len(tasks)]
        make = _BBH_QUESTIONS[task]
        shots = [_bbh_shot(*make(rng)) for _ in range(3)]
        question, _, answer = make(rng)
        cot = description + "\n\n" + "\n\n".join(shots)
        records.append(
            {"task": task, "question": question, "answer": answer, "cot": cot, "subject": subject}
        )
    return records


def _bbh_shot(question: str, steps: str, answer: str) -> str:
    return f"Q: {question}\nA: Let's think step by step.\n{steps} So the answer is {answer}."


def _boolean(rng: random.Random) -> Question:
    """A three-term boolean expression, with the first step of its evaluation."""
    (ta, a), (tb, b), (tc, c) = _bool_term(rng), _bool_term(rng), _bool_term(rng)
    op1, op2 = rng.choice(("and", "or")), rng.choice(("and", "or"))
    if op1 == "or" and op2 == "and":  # `and` binds tighter, so it goes first
        value, steps = a or (b and c), f"First {tb} and {tc} is {b and c}."
    else:
        first = (a and b) if op1 == "and" else (a or b)
        value = (first and c) if op2 == "and" else (first or c)
        steps = f"First {ta} {op1} {tb} is {first}."
    question = f"{ta} {op1} {tb} {op2} {tc} is"
    return question, f"Remember that not comes first, then and, then or. {steps}", str(value)


def _bool_term(rng: random.Random) -> tuple[str, bool]:
    value = rng.random() < 0.5
    if rng.random() < 0.4:
        return f"not {value}", not value
    return str(value), value


def _sorting(rng: random.Random) -> Question:
    words = rng.sample(table("utility_sets")["sort_words"], rng.randrange(3, 6))
    answer = " ".join(sorted(words))
    question = f"Sort the following words alphabetically: List: {' '.join(words)}"
    return question, f"Looking at the first letters, the order is: {answer}.", answer


# BBH task (named in utility_sets.yaml) -> its question generator.
_BBH_QUESTIONS: MappingProxyType[str, Callable[[random.Random], Question]] = MappingProxyType(
    {"boolean_expressions": _boolean, "word_sorting": _sorting}
)


def _truthful(rng: random.Random, n: int, subject: str) -> Records:
    records: Records = []
    for item in _draw(rng, table("utility_sets")["truthful"], n):
        wrong = list(item["wrong"])
        mc1 = [item["best"], *wrong]
        mc2 = [item["best"], item["also"], *wrong]
        records.append(
            {
                "question": item["question"],
                "mc1_targets": {"choices": mc1, "labels": [1] + [0] * len(wrong)},
                "mc2_targets": {"choices": mc2, "labels": [1, 1] + [0] * len(wrong)},
                "subject": subject,
            }
        )
    return records


def _trivia(rng: random.Random, n: int, subject: str) -> Records:
    return [
        {"question": item["question"], "answers": list(item["answers"]), "subject": subject}
        for item in _draw(rng, table("utility_sets")["trivia"], n)
    ]


def _fluency(rng: random.Random, n: int, subject: str) -> Records:
    instructions = table("utility_sets")["instructions"]
    return [{"instruction": text, "subject": subject} for text in _draw(rng, instructions, n)]


def _draw(rng: random.Random, bank: Sequence[T], n: int) -> list[T]:
    """``n`` distinct bank items while possible, then repeats."""
    if n <= len(bank):
        return rng.sample(list(bank), n)
    return [*rng.sample(list(bank), len(bank)), *(rng.choice(bank) for _ in range(n - len(bank)))]
