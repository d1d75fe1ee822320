"""The distilbert-sentiment pipeline: a generated review corpus (corpus.py), the model
loading shared by train and evaluate (model.py), and one script per stage."""
