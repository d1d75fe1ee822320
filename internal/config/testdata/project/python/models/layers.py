from .mlp import MLP  # cycle back to mlp
import torch
