"""Importing this module makes every model loadable by name from a checkpoint.

Model modules register their builders with ``models.checkpoint.MODEL_BUILDERS`` when imported;
loaders import this one module instead of remembering which model lives where.
"""
from handperception.models import detector, pose2p5d  # noqa: F401
