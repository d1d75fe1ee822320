"""A training script that knows nothing of magelab: its own flags, results on stdout.

    python python/examples/plain_train.py --lr 0.01 --epochs 20 [--save results.json]

Trains a logistic-regression SGDClassifier on scikit-learn's bundled digits (fixed
75/25 split, fixed seed), prints progress per epoch and ends with the lines
`accuracy=0.9533` and `loss=0.1820` (test set, 4 decimals). --save also writes
{"accuracy": ..., "loss": ...} as JSON to PATH. magelab runs it as a command-template
stage to show that adopting it needs no change to the training code.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lr", type=float, default=0.01, help="constant SGD step size")
    p.add_argument("--epochs", type=int, default=20, help="passes over the training set")
    p.add_argument("--save", type=Path, default=None, help="write the results JSON here")
    a = p.parse_args(argv)
    if not a.lr > 0:
        p.error(f"--lr must be > 0, got {a.lr}")
    if a.epochs < 1:
        p.error(f"--epochs must be >= 1, got {a.epochs}")
    return a


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

    clf = SGDClassifier(loss="log_loss", learning_rate="constant", eta0=args.lr,
                        random_state=0)
    classes = np.unique(y)
    for epoch in range(1, args.epochs + 1):
        clf.partial_fit(X_train, y_train, classes=classes)
        train_loss = log_loss(y_train, clf.predict_proba(X_train), labels=classes)
        print(f"[epoch {epoch}/{args.epochs}] train log-loss {train_loss:.4f}", flush=True)

    accuracy = float(clf.score(X_test, y_test))
    loss = float(log_loss(y_test, clf.predict_proba(X_test), labels=classes))
    print(f"accuracy={accuracy:.4f}")
    print(f"loss={loss:.4f}")
    if args.save is not None:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps({"accuracy": accuracy, "loss": loss}) + "\n")


if __name__ == "__main__":
    main()
