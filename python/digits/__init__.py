"""The digits pipeline: one script per stage, and the MLP they share (model.py)."""
