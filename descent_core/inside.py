"""Look inside an optimizer: its internal state at one step of a race, as numbers and as arrows on the surface.

A race run with ``record_state=True`` keeps every buffer of every step (``race.states[opt][slot]``, shaped
(B, steps, ...)). The helpers here turn step ``k`` of one run into a ``StepView``: where the gradient was taken,
the gradient, the update actually made, the buffers after the update, the per-coordinate effective step, and
the two derived quantities some optimizers hide: the trust ratio LAMB and LARS record as they step, and
Shampoo's preconditioner matrix, from the engine's own inverse root.
``arrows`` lays them out as segments for a chart. No Streamlit here.

Step ``k`` (1-based) uses the gradient at ``paths[k - 1]`` and moves to ``paths[k]``; the recorded state at index
``k - 1`` is the state after that update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

import torch

from .content import inside_notes
from .optimizers import OPTIMIZERS, make_stepper, slot_names
from .race import Race
from .transforms import inverse_root

ARROW_NAMES = {"b": "momentum buffer", "m": "first moment"}


def slot_meaning(slot: str) -> str:
    """What a recorded buffer is, in the guide's words (content/inside.yaml)."""
    return inside_notes()["slots"].get(slot, "state")


@dataclass(frozen=True)
class StepView:
    optimizer: str
    step: int  # 1-based update index
    point: np.ndarray  # θ before the update (where the gradient was taken), (2,)
    next_point: np.ndarray  # θ after it, (2,)
    grad: np.ndarray  # the gradient the update used, (2,)
    lr: float  # learning rate in force at this step
    slots: dict[str, np.ndarray]  # buffers after the update: (2,) vectors, (2, 2) matrices or (1,) scalars
    effective: np.ndarray  # |Δθ| / |g| per coordinate, (2,)
    trust_ratio: float | None = None  # LAMB: ‖θ‖/‖u‖; LARS: ‖w‖/(‖g‖ + wd‖w‖)
    preconditioner: np.ndarray | None = None  # Shampoo: (Σ g gᵀ + εI)^(-1/2), (2, 2)

    @property
    def update(self) -> np.ndarray:
        return self.next_point - self.point


def _index(race: Race, opt: str) -> int:
    if opt not in race.optimizers:
        raise ValueError(f"{opt!r} did not run in this race; it ran {list(race.optimizers)}")
    return race.optimizers.index(opt)


def trust_ratios(race: Race, opt: str) -> np.ndarray:
    """The trust ratio of every step of every run, (B, steps), as the rule itself recorded it.

    LAMB: ‖θ‖ / ‖r + wd·θ‖ with r = m̂ / (√v̂ + ε) (the step is then lr · ratio · (r + wd·θ)).
    LARS: ‖w‖ / (‖g‖ + wd·‖w‖) (the local rate is trust_coefficient times this).
    """
    _index(race, opt)
    recorded = race.states.get(opt, {})
    if "trust_ratio" not in recorded:
        if opt in race.states or "trust_ratio" not in _slots_with_diagnostics(opt):
            raise ValueError(f"{opt} keeps no trust ratio (only the trust-ratio methods, LAMB and LARS, do)")
        raise ValueError(f"{opt}'s trust ratio needs the race to be run with record_state=True")
    return recorded["trust_ratio"].reshape(race.runs, race.steps)


def _slots_with_diagnostics(opt: str) -> list[str]:
    theta = torch.zeros(1, 2, dtype=torch.float64)
    return slot_names(make_stepper(opt).init(theta).slots, diagnostics=True)


def preconditioner_of(left: np.ndarray) -> np.ndarray:
    """Shampoo's preconditioner for a vector parameter, (Σ g gᵀ + εI)^(−1/2), by the engine's own inverse root."""
    return inverse_root(torch.as_tensor(left, dtype=torch.float64), 2.0).numpy()


def step_view(race: Race, k: int, opt: str | None = None, run: int = 0) -> StepView:
    """Everything about update ``k`` (1-based) of one run."""
    opt = opt or race.optimizers[0]
    i = _index(race, opt)
    if not 1 <= k <= race.steps:
        raise ValueError(f"step must be in [1, {race.steps}], got {k}")
    if not 0 <= run < race.runs:
        raise ValueError(f"run must be in [0, {race.runs - 1}], got {run}")
    slots = {name: np.asarray(values[run, k - 1]) for name, values in race.states.get(opt, {}).items()}
    trust = slots.pop("trust_ratio", None)
    left = slots.get("left")
    # Shampoo preconditions with left^(-1/2); SOAP keeps a statistic of the same name but steps in its eigenbasis
    # (the q_left slot), so its step is not left^(-1/2) g and no such matrix is shown for it.
    shampoo_like = left is not None and left.shape == (2, 2) and "q_left" not in slots
    preconditioner = preconditioner_of(left) if shampoo_like else None
    return StepView(
        optimizer=opt, step=k, point=race.stepped_paths[i, run, k - 1].copy(), next_point=race.stepped_paths[i, run, k].copy(),
        grad=race.grads[i, run, k - 1].copy(), lr=float(race.lr[i, run, k - 1]), slots=slots,
        effective=race.effective_step()[i, run, k - 1],
        trust_ratio=None if trust is None else float(trust.ravel()[0]), preconditioner=preconditioner,
    )


def push_direction(opt: str, slot: str, value: np.ndarray) -> np.ndarray | None:
    """The direction a buffer pushes θ in, or None when the slot is not a direction (v, sums, matrices).

    Momentum buffers and first moments are subtracted (θ ← θ − lr·f(b)); LARS's velocity already carries −lr.
    """
    if slot not in ("b", "m") or value.shape != (2,):
        return None
    return value if OPTIMIZERS[opt].applies_lr else -value


def arrows(view: StepView, span: float, fraction: float = 0.16) -> pd.DataFrame:
    """Segments to draw from the current point: x, y, x2, y2, the arrow's name, its true length and how it is scaled.

    Directions (−gradient, buffers, the preconditioned gradient) are drawn with a common display length,
    ``fraction`` of ``span`` (the view's size), because their units differ; the update actually made is drawn to
    scale. Shampoo's preconditioner is drawn as its two principal axes, scaled by their eigenvalues.
    """
    x, y = view.point
    length = fraction * span
    rows: list[dict[str, Any]] = []

    def add(name: str, vector: np.ndarray, true_scale: bool = False, centred: bool = False) -> None:
        norm = float(np.linalg.norm(vector))
        if not np.isfinite(norm) or norm == 0.0:
            return
        shown = vector if true_scale else vector * (length / norm)
        start = np.array([x, y]) - (shown / 2 if centred else 0.0)
        rows.append({"arrow": name, "x": float(start[0]), "y": float(start[1]), "x2": float(start[0] + shown[0]),
                     "y2": float(start[1] + shown[1]), "length": norm, "drawn": "to scale" if true_scale else
                     "direction only", "head": not centred})

    add("−gradient", -view.grad)
    for slot, value in view.slots.items():
        direction = push_direction(view.optimizer, slot, value)
        if direction is not None:
            velocity = OPTIMIZERS[view.optimizer].applies_lr
            add(f"{slot}: velocity" if velocity else f"−{slot}: {ARROW_NAMES[slot]}", direction)
    if view.preconditioner is not None:
        add("−P·g (preconditioned)", -view.preconditioner @ view.grad)
        eigenvalues, eigenvectors = np.linalg.eigh(view.preconditioner)
        top = float(eigenvalues.max())
        for j in range(2):
            add(f"P axis {j + 1} (eigenvalue {eigenvalues[j]:.3g})", eigenvectors[:, j] * length * eigenvalues[j] / top,
                true_scale=True, centred=True)
    add("update made", view.update, true_scale=True)
    return pd.DataFrame(rows, columns=["arrow", "x", "y", "x2", "y2", "length", "drawn", "head"])


def state_table(view: StepView) -> pd.DataFrame:
    """One row per quantity: its x and y components (or matrix rows), its norm, and what it is."""
    rows = [
        {"quantity": "θ before the step", "x": view.point[0], "y": view.point[1], "norm": np.linalg.norm(view.point)},
        {"quantity": "gradient g", "x": view.grad[0], "y": view.grad[1], "norm": np.linalg.norm(view.grad)},
        {"quantity": "update made Δθ", "x": view.update[0], "y": view.update[1], "norm": np.linalg.norm(view.update)},
        {"quantity": "effective step |Δθ|/|g|", "x": view.effective[0], "y": view.effective[1], "norm": np.nan},
    ]
    for slot, value in view.slots.items():
        label = f"{slot}: {slot_meaning(slot)}"
        if value.shape == (2,):
            rows.append({"quantity": label, "x": value[0], "y": value[1], "norm": np.linalg.norm(value)})
        elif value.shape == (2, 2):
            for r in range(2):
                rows.append({"quantity": f"{slot} row {r + 1}: {slot_meaning(slot)}", "x": value[r, 0],
                             "y": value[r, 1], "norm": np.nan})
        else:
            rows.append({"quantity": label, "x": float(value.ravel()[0]), "y": np.nan, "norm": np.nan})
    if view.preconditioner is not None:
        for r in range(2):
            rows.append({"quantity": f"P row {r + 1}: preconditioner left^(−1/2)", "x": view.preconditioner[r, 0],
                         "y": view.preconditioner[r, 1], "norm": np.nan})
    if view.trust_ratio is not None:
        rows.append({"quantity": "trust ratio", "x": view.trust_ratio, "y": np.nan, "norm": np.nan})
    return pd.DataFrame(rows, columns=["quantity", "x", "y", "norm"]).astype({"x": float, "y": float, "norm": float})
