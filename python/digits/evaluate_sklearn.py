"""Stage eval (digits-sklearn): score a trained scikit-learn digits model on the test split.

    python python/digits/evaluate_sklearn.py --params PARAMS.json --in PREPROCESS_OUT \
        --model TRAIN_OUT --out OUTPUT_DIR

Reads IN/splits.npz, IN/scaler.json and MODEL/model.joblib; takes no params of its own.
Writes metrics.json (test_accuracy, test_f1_macro), confusion_matrix.json (as
evaluate.py: rows = true label, columns = predicted label) and framework.json.
"""

from __future__ import annotations

import json

import numpy as np
import sklearn
from sklearn.metrics import confusion_matrix, f1_score

import lab
from digits.sklearn_model import load_model
from digits.train_sklearn import load_raw


def parse_args(argv: list[str] | None = None):
    return lab.args("Evaluate MODEL/model.joblib on the test split of IN/splits.npz.", argv,
                    required=("in", "model"))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    lab.params(args.params)
    args.out.mkdir(parents=True, exist_ok=True)

    model = load_model(args.model)
    data = load_raw(args.in_dir)
    y_true = data["y_test"]
    y_pred = model.predict(data["X_test"])
    labels = sorted(np.unique(np.concatenate([data["y_train"], y_true])).tolist())
    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    (args.out / "confusion_matrix.json").write_text(json.dumps(
        {"labels": labels, "matrix": matrix.tolist()}) + "\n")
    lab.write_framework(args.out, sklearn=sklearn.__version__)
    lab.summary(args.out, test_accuracy=float((y_pred == y_true).mean()),
                test_f1_macro=float(f1_score(y_true, y_pred, average="macro")))


if __name__ == "__main__":
    main()
