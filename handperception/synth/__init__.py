"""Synthetic data engine: parametric hands, eyes and objects rendered with exact labels."""
