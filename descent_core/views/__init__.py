"""Explanatory figures that are not races: what each one computes, and its claim as checkable properties.

A section places one with ``{{view:<id>}}``; ``descent_ui.views`` draws it. Every function here is pure (numbers in,
frames and checks out) and evaluates its claim on the very data the page draws, so the badge a reader sees and the
assertion a test makes are the same comparison:

- ``rate_map``: convergence rate over a grid of (learning rate, momentum) on a quadratic, one batched sweep;
- ``eigenbasis``: the error of GD and heavy ball split into its eigen-direction components;
- ``basin_map``: which Himmelblau minimum each start of a grid reaches, per optimizer, one batched race;
- ``muon_spectrum``: singular values before and after Newton–Schulz, against the exact polar factor.
"""

from __future__ import annotations

from .base import Check, ViewResult
from .basins import BASIN_OPTIMIZERS, basin_map
from .muon import NS_COEFFICIENTS, muon_spectrum, quintic
from .quadratic import bowl, eigenbasis, heavy_ball_root, rate_map

VIEW_IDS = ("rate_map", "eigenbasis", "basin_map", "muon_spectrum")

__all__ = ["Check", "ViewResult", "VIEW_IDS", "rate_map", "eigenbasis", "basin_map", "muon_spectrum", "bowl",
           "heavy_ball_root", "quintic", "NS_COEFFICIENTS", "BASIN_OPTIMIZERS"]
