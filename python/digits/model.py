"""The digits MLP and its checkpoint format, shared by train.py and evaluate.py.

model.pt holds {"state_dict": ..., "config": {"in_features", "hidden", "classes",
"dropout"}}: enough to rebuild the network without the training params.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

CHECKPOINT = "model.pt"


class MLP(nn.Module):
    """in_features -> hidden -> ReLU -> (dropout) -> classes."""

    def __init__(self, in_features: int = 64, hidden: int = 128, classes: int = 10,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.config = {"in_features": in_features, "hidden": hidden,
                       "classes": classes, "dropout": dropout}
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def save_checkpoint(model: MLP, out_dir: Path) -> Path:
    """Save the weights and the config needed to rebuild model to out_dir/model.pt."""
    path = Path(out_dir) / CHECKPOINT
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "config": dict(model.config)}, path)
    return path


def load_checkpoint(model_dir: Path, device: str = "cpu") -> MLP:
    """Rebuild the MLP saved in model_dir/model.pt on device, in eval mode."""
    path = Path(model_dir) / CHECKPOINT
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no such model checkpoint; pass --model the train stage's output "
            "directory (run the train stage first)"
        )
    ckpt: dict[str, Any] = torch.load(path, map_location=device, weights_only=True)
    model = MLP(**ckpt["config"])
    model.load_state_dict(ckpt["state_dict"])
    return model.to(device).eval()
