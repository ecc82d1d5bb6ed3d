"""Command-line entry point: ``handperception <command>``."""
