import lab
from models.mlp import MLP
