"""The generated sentiment corpus (sentiment/corpus.py) and its setup-data stage; needs
neither torch nor transformers."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

from conftest import PYTHON_DIR

from sentiment import corpus


def test_generate_is_deterministic_and_balanced() -> None:
    a, b = corpus.generate(500, seed=3), corpus.generate(500, seed=3)
    assert a == b
    assert a != corpus.generate(500, seed=4)
    labels = Counter(r["label"] for r in a)
    assert set(labels) == {0, 1} and 200 < labels[1] < 300
    assert len({r["text"] for r in a}) > 400  # mostly distinct sentences


def test_negation_flips_the_opinion_word() -> None:
    rng = random.Random(0)
    for _ in range(300):
        positive = rng.random() < 0.5
        words = corpus.clause(rng, positive).split()
        negated = any(n in words for n in corpus.NEGATIONS)
        opinion = words[-1]
        want = corpus.POSITIVE if positive != negated else corpus.NEGATIVE
        assert opinion in want, (words, positive)


def test_but_clause_decides_the_label() -> None:
    rng = random.Random(1)
    for text, label in (corpus.review(rng) for _ in range(300)):
        if ", but " not in text:
            continue
        last = text.rstrip(".").split(", but ")[1].split()
        negated = any(n in last for n in corpus.NEGATIONS)
        word_positive = last[-1] in corpus.POSITIVE
        assert label == int(word_positive != negated), text


def test_setup_data_writes_the_splits(tmp_path: Path) -> None:
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"seed": 5, "data": {"n_train": 40, "n_val": 10, "n_test": 12}}))
    out = tmp_path / "out"
    subprocess.run([sys.executable, str(PYTHON_DIR / "sentiment" / "setup_data.py"),
                    "--params", str(params), "--out", str(out)], check=True, timeout=60)
    sizes = {n: len((out / f"{n}.jsonl").read_text().splitlines())
             for n in ("train", "val", "test")}
    assert sizes == {"train": 40, "val": 10, "test": 12}
    info = json.loads((out / "corpus.json").read_text())
    assert info["sizes"] == sizes and info["seed"] == 5
    row = json.loads((out / "train.jsonl").read_text().splitlines()[0])
    assert set(row) == {"text", "label"} and row["label"] in (0, 1)
