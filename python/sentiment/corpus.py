"""A small English review corpus for binary sentiment, written by this project.

Every review is built from a seeded random generator: a subject ("the plot"), a verb,
an optional intensifier or negation and an opinion word, sometimes two clauses joined
by "but" (the second clause decides), sometimes a neutral clause added. The label is
1 for positive, 0 for negative. Negation flips an opinion ("was not dull" is
positive), so a model must read more than single words to do well; held-out splits use
other seeds, so their sentences are new combinations.
"""

from __future__ import annotations

import random

SUBJECTS = [
    "the movie", "this film", "the plot", "the acting", "the story", "the ending",
    "the soundtrack", "the script", "the cast", "the director's work", "the pacing",
    "the dialogue", "the camera work", "this sequel", "the lead performance",
    "the book", "this novel", "the main character", "the opening chapter", "the humour",
]
POSITIVE = [
    "wonderful", "brilliant", "moving", "delightful", "excellent", "charming",
    "gripping", "beautiful", "clever", "superb", "touching", "fun", "memorable",
    "inspiring", "great", "enjoyable", "sharp", "warm", "fresh", "stunning",
]
NEGATIVE = [
    "boring", "awful", "dull", "terrible", "clumsy", "tedious", "weak", "bland",
    "predictable", "forgettable", "messy", "painful", "flat", "silly", "poor",
    "confusing", "lifeless", "annoying", "shallow", "disappointing",
]
VERBS = ["was", "is", "felt", "seemed", "turned out", "came across as"]
INTENSIFIERS = ["", "", "really", "truly", "quite", "very", "rather", "so", "incredibly"]
NEGATIONS = ["not", "never", "hardly"]
NEUTRAL = [
    "i saw it on a sunday", "my friend recommended it", "it runs for two hours",
    "we watched it at home", "it came out last year", "i read it on the train",
    "the cinema was full", "it is based on a true story",
]
OPENERS = ["", "", "honestly,", "overall,", "in the end,", "to be fair,", "i think"]


def clause(rng: random.Random, positive: bool) -> str:
    """Return a clause whose sentiment is `positive`, negated half of the time or so."""
    negate = rng.random() < 0.35
    word_positive = positive != negate
    word = rng.choice(POSITIVE if word_positive else NEGATIVE)
    parts = [rng.choice(SUBJECTS), rng.choice(VERBS)]
    if negate:
        parts.append(rng.choice(NEGATIONS))
    parts += [rng.choice(INTENSIFIERS), word]
    return " ".join(p for p in parts if p)


def review(rng: random.Random) -> tuple[str, int]:
    """Return one (text, label) pair."""
    label = rng.random() < 0.5
    if rng.random() < 0.3:  # "A but B": B, the second clause, carries the label
        text = f"{clause(rng, not label)}, but {clause(rng, label)}"
    else:
        text = clause(rng, label)
    if rng.random() < 0.3:
        text = f"{rng.choice(NEUTRAL)} and {text}"
    opener = rng.choice(OPENERS)
    return f"{opener} {text}.".strip(), int(label)


def generate(n: int, seed: int) -> list[dict[str, object]]:
    """Return n reviews as {"text": ..., "label": 0|1}, the same for the same seed."""
    rng = random.Random(seed)
    return [{"text": text, "label": label} for text, label in (review(rng) for _ in range(n))]
