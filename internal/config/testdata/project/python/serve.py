"""A stand-in BentoML service file: the loader only checks that it exists."""
