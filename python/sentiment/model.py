"""The DistilBERT classifier: loading (the real `from_pretrained` path), the tiny offline
model, batching and scoring, shared by train.py and evaluate.py.

`load(source)` calls AutoTokenizer/AutoModelForSequenceClassification.from_pretrained on
a Hugging Face hub id (distilbert-base-uncased) or a local directory. Without the hub,
`build_tiny` makes such a directory: a WordPiece tokenizer trained on the corpus with
the `tokenizers` library and a randomly initialised DistilBERT from a DistilBertConfig,
both saved with save_pretrained, so the tiny model goes through the same loading code.
The fine-tuned model and its tokenizer are saved to OUTPUT_DIR/model (MODEL_DIR).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # no fork warnings, same results

import torch  # noqa: E402
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers  # noqa: E402
from transformers import (  # noqa: E402
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DistilBertConfig,
    DistilBertForSequenceClassification,
    DistilBertTokenizer,
)
from transformers.utils import logging as hf_logging  # noqa: E402

hf_logging.disable_progress_bar()  # stage logs are files: no redrawn bars in them

MODEL_DIR = "model"  # the fine-tuned model under the train stage's OUTPUT_DIR
BASE_DIR = "base-model"  # the tiny model before fine-tuning, under OUTPUT_DIR
LABELS = {0: "negative", 1: "positive"}
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def build_tiny(texts: list[str], out_dir: Path, *, vocab_size: int, dim: int, layers: int,
               heads: int, max_length: int, seed: int) -> Path:
    """Save a WordPiece tokenizer trained on texts and an untrained tiny DistilBERT to
    out_dir, as a hub checkpoint directory holds them, and return out_dir."""
    wordpiece = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    wordpiece.normalizer = normalizers.BertNormalizer(lowercase=True)
    wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wordpiece.train_from_iterator(texts, trainers.WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL, min_frequency=1))
    vocab = wordpiece.get_vocab()
    tokenizer = DistilBertTokenizer(vocab=vocab, do_lower_case=True, model_max_length=max_length)
    config = DistilBertConfig(
        vocab_size=len(vocab), dim=dim, n_layers=layers, n_heads=heads, hidden_dim=4 * dim,
        max_position_embeddings=max_length, pad_token_id=tokenizer.pad_token_id,
        num_labels=len(LABELS), id2label=LABELS, label2id={v: k for k, v in LABELS.items()})
    torch.manual_seed(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(out_dir)
    DistilBertForSequenceClassification(config).save_pretrained(out_dir)
    return out_dir


def load(source: str | os.PathLike) -> tuple[Any, Any]:
    """Return (tokenizer, model) from_pretrained(source): a hub id or a local directory.
    A checkpoint without a classification head gets a new one with two labels."""
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(source))
        model = AutoModelForSequenceClassification.from_pretrained(
            str(source), num_labels=len(LABELS), id2label=LABELS,
            label2id={v: k for k, v in LABELS.items()})
    except OSError as e:
        raise SystemExit(
            f"cannot load model {str(source)!r}: {e}\n"
            "Without access to the Hugging Face hub, set train.offline: true (a tiny DistilBERT "
            "built from the corpus) or point train.model_name at a local directory holding a "
            "checkpoint (config.json, model.safetensors, tokenizer files), e.g. one made with "
            "`hf download distilbert-base-uncased --local-dir DIR` where the hub is reachable."
        ) from None
    return tokenizer, model


def batches(tokenizer: Any, texts: list[str], labels: list[int], batch_size: int,
            max_length: int, order: torch.Tensor | None = None):
    """Yield tokenized batches (input_ids, attention_mask, labels) in the given order."""
    idx = order.tolist() if order is not None else list(range(len(texts)))
    for start in range(0, len(idx), batch_size):
        chunk = idx[start:start + batch_size]
        enc = tokenizer([texts[i] for i in chunk], padding=True, truncation=True,
                        max_length=max_length, return_tensors="pt")
        yield enc["input_ids"], enc["attention_mask"], torch.tensor([labels[i] for i in chunk])


@torch.no_grad()
def predict(model: Any, tokenizer: Any, texts: list[str], batch_size: int, max_length: int,
            device: str) -> list[int]:
    """Return the predicted label of each text."""
    model.eval()
    preds: list[int] = []
    for ids, mask, _ in batches(tokenizer, texts, [0] * len(texts), batch_size, max_length):
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
        preds += logits.argmax(dim=-1).cpu().tolist()
    return preds


def scores(y_true: list[int], y_pred: list[int]) -> dict[str, float]:
    """Return accuracy and F1 of the positive class (binary)."""
    tp = sum(t == 1 and p == 1 for t, p in zip(y_true, y_pred))
    fp = sum(t == 0 and p == 1 for t, p in zip(y_true, y_pred))
    fn = sum(t == 1 and p == 0 for t, p in zip(y_true, y_pred))
    accuracy = sum(t == p for t, p in zip(y_true, y_pred)) / len(y_true)
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return {"accuracy": accuracy, "f1": f1}


def read_split(in_dir: Path, name: str) -> tuple[list[str], list[int]]:
    """Read IN/NAME.jsonl as (texts, labels)."""
    path = Path(in_dir) / f"{name}.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such split; pass --in the setup-data output")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [r["text"] for r in rows], [int(r["label"]) for r in rows]
