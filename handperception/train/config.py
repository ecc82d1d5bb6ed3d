"""Training configs: a trainer's defaults overridden by a user's YAML, typos refused.

Why one function: every trainer (hand, gaze, ...) reads a YAML of sections, and a misspelt key
that silently falls back to a default wastes a training run; each must refuse it the same way,
before any data is rendered.
"""

from __future__ import annotations

import copy


class ConfigError(ValueError):
    """A training config names a section or key its trainer does not have."""


def merge_config(defaults: dict, config: dict | None) -> dict:
    """``defaults`` overridden by ``config`` (a deep copy; ``defaults`` is not changed).

    A section that is a mapping in ``defaults`` takes only its known keys; any other section
    (e.g. ``out``) is replaced whole. Unknown sections or keys raise ConfigError.
    """
    merged = copy.deepcopy(defaults)
    for section, values in (config or {}).items():
        if section not in merged:
            raise ConfigError(f"unknown config section '{section}' (known: {sorted(merged)})")
        if isinstance(merged[section], dict):
            if not isinstance(values, dict):
                raise ConfigError(f"config section '{section}' must be a mapping, got {values!r}")
            unknown = set(values) - set(merged[section])
            if unknown:
                raise ConfigError(
                    f"unknown keys {sorted(unknown)} in '{section}' "
                    f"(known: {sorted(merged[section])})"
                )
            merged[section].update(values)
        else:
            merged[section] = values
    return merged
