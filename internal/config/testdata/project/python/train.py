"""Train the model.

import not_a_module  (inside a docstring: not an import)
"""
import json, os.path as osp
import lab
try:
    from models import mlp
except ImportError:  # pragma: no cover
    mlp = None

def main():
    print("import fake")  # import fake2
