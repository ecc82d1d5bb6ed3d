"""Training loops (functions, no CLI) for the project's networks."""
