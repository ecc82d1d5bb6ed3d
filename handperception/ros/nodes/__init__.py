"""One module per node; each exposes its node class and ``main`` (its console script)."""
