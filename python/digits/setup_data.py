"""Stage setup-data: write scikit-learn's bundled digits to OUTPUT_DIR/digits.npz.

    python python/digits/setup_data.py --params PARAMS.json --out OUTPUT_DIR

Writes digits.npz with X (float32, n x 64, pixel values 0..16) and y (int64, 0..9).
No download: the data ships inside scikit-learn. Takes no params; the file is still
read so that a malformed one fails here, first.
"""

from __future__ import annotations


import numpy as np
from sklearn.datasets import load_digits

import lab


def parse_args(argv: list[str] | None = None):
    return lab.args("Write the scikit-learn digits dataset to OUT/digits.npz.", argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    lab.params(args.params)
    args.out.mkdir(parents=True, exist_ok=True)

    digits = load_digits()
    X = digits.data.astype(np.float32)
    y = digits.target.astype(np.int64)
    path = args.out / "digits.npz"
    np.savez(path, X=X, y=y)

    print(f"digits: {X.shape[0]} samples, {X.shape[1]} features, "
          f"{len(np.unique(y))} classes -> {path}")


if __name__ == "__main__":
    main()
