"""Look inside an optimizer: its internal state at one step of a race, as numbers and as arrows on the surface.

A race run with ``record_state=True`` keeps every buffer of every step (``race.states[opt][slot]``, shaped
(B, steps, ...)). The helpers here turn step ``k`` of one run into a ``StepView``: where the gradient was taken,
the gradient, the update actually made, the buffers after the update, the per-coordinate effective step, and
the two derived quantities some optimizers hide, LAMB/LARS's trust ratio and Shampoo's preconditioner matrix.
``arrows`` lays them out as segments for a chart. No Streamlit here.

Step ``k`` (1-based) uses the gradient at ``paths[k - 1]`` and moves to ``paths[k]``; the recorded state at index
``k - 1`` is the state after that update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .optimizers import OPTIMIZERS
from .race import Race

# What each recorded slot means, for tables and captions.
SLOT_MEANINGS = {
    "b": "momentum buffer",
    "m": "first moment m (EMA of g)",
    "v": "second moment v (EMA of g²)",
    "v_max": "running max of v (AMSGrad)",
    "sum_sq": "sum of squared gradients (AdaGrad)",
    "g_avg": "EMA of g (centred RMSProp)",
    "u": "EMA of squared updates (AdaDelta)",
    "h": "Hessian-diagonal estimate (Sophia)",
    "mu_product": "product of momentum coefficients (NAdam)",
    "left": "Σ g gᵀ + εI (Shampoo statistics)",
    "right": "right statistics (Shampoo, matrices)",
}
ARROW_NAMES = {"b": "momentum buffer", "m": "first moment"}


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


def _scalar_hparam(race: Race, opt: str, name: str, run: int) -> float:
    value = race.hparams[opt][name]
    return float(value[run]) if isinstance(value, (list, tuple)) else float(value)


def _betas(race: Race, opt: str, run: int) -> tuple[float, float]:
    b1, b2 = race.hparams[opt]["betas"]
    pick = lambda b: float(b[run]) if isinstance(b, (list, tuple)) else float(b)  # noqa: E731
    return pick(b1), pick(b2)


def _norm(x: np.ndarray) -> np.ndarray:
    return np.linalg.norm(x, axis=-1)


def _safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 1 where either is 0 (the trust-ratio convention of ``transforms.safe_ratio``)."""
    usable = (numerator > 0) & (denominator > 0)
    return np.where(usable, numerator / np.where(usable, denominator, 1.0), 1.0)


def trust_ratios(race: Race, opt: str) -> np.ndarray:
    """The trust ratio at every step of every run, (B, steps), recomputed from the recorded norms.

    LAMB: ‖θ‖ / ‖r + wd·θ‖ with r = m̂ / (√v̂ + ε) (the step is then lr · ratio · (r + wd·θ)).
    LARS: ‖w‖ / (‖g‖ + wd·‖w‖) (the local rate is trust_coefficient times this).
    """
    i = _index(race, opt)
    theta = race.paths[i, :, :-1]  # θ before each step, (B, steps, 2)
    if opt == "lamb":
        if "m" not in race.states.get(opt, {}):
            raise ValueError("LAMB's trust ratio needs the race to be run with record_state=True")
        ratios = []
        for run in range(race.runs):
            b1, b2 = _betas(race, opt, run)
            eps, wd = _scalar_hparam(race, opt, "eps", run), _scalar_hparam(race, opt, "weight_decay", run)
            t = np.arange(1, race.steps + 1)[:, None]
            m_hat = race.states[opt]["m"][run] / (1 - b1**t)
            v_hat = race.states[opt]["v"][run] / (1 - b2**t)
            direction = m_hat / (np.sqrt(v_hat) + eps) + wd * theta[run]
            ratios.append(_safe_ratio(_norm(theta[run]), _norm(direction)))
        return np.stack(ratios)
    if opt == "lars":
        wd = np.array([_scalar_hparam(race, opt, "weight_decay", run) for run in range(race.runs)])[:, None]
        w_norm, g_norm = _norm(theta), _norm(race.grads[i])
        return _safe_ratio(w_norm, g_norm + wd * w_norm)
    raise ValueError(f"{opt} has no trust ratio (only lamb and lars do)")


def inverse_sqrt(matrices: np.ndarray) -> np.ndarray:
    """M^(-1/2) for symmetric positive-definite matrices (..., n, n), via an eigendecomposition."""
    eigenvalues, eigenvectors = np.linalg.eigh(matrices)
    scaled = eigenvectors * np.clip(eigenvalues, 1e-30, None)[..., None, :] ** -0.5
    return scaled @ np.swapaxes(eigenvectors, -1, -2)


def step_view(race: Race, k: int, opt: str | None = None, run: int = 0) -> StepView:
    """Everything about update ``k`` (1-based) of one run."""
    opt = opt or race.optimizers[0]
    i = _index(race, opt)
    if not 1 <= k <= race.steps:
        raise ValueError(f"step must be in [1, {race.steps}], got {k}")
    if not 0 <= run < race.runs:
        raise ValueError(f"run must be in [0, {race.runs - 1}], got {run}")
    slots = {name: np.asarray(values[run, k - 1]) for name, values in race.states.get(opt, {}).items()}
    trust = float(trust_ratios(race, opt)[run, k - 1]) if opt in ("lamb", "lars") else None
    preconditioner = inverse_sqrt(slots["left"]) if "left" in slots and slots["left"].shape == (2, 2) else None
    return StepView(
        optimizer=opt, step=k, point=race.paths[i, run, k - 1].copy(), next_point=race.paths[i, run, k].copy(),
        grad=race.grads[i, run, k - 1].copy(), lr=float(race.lr[i, run, k - 1]), slots=slots,
        effective=race.effective_step()[i, run, k - 1], trust_ratio=trust, preconditioner=preconditioner,
    )


def push_direction(opt: str, slot: str, value: np.ndarray) -> np.ndarray | None:
    """The direction a buffer pushes θ in, or None when the slot is not a direction (v, sums, matrices).

    Momentum buffers and first moments are subtracted (θ ← θ − lr·f(b)); LARS's velocity already carries −lr.
    """
    if slot not in ("b", "m") or value.shape != (2,):
        return None
    return value if OPTIMIZERS[opt].momentum_after_lr else -value


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
            velocity = OPTIMIZERS[view.optimizer].momentum_after_lr
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
        label = f"{slot}: {SLOT_MEANINGS.get(slot, 'state')}"
        if value.shape == (2,):
            rows.append({"quantity": label, "x": value[0], "y": value[1], "norm": np.linalg.norm(value)})
        elif value.shape == (2, 2):
            for r in range(2):
                rows.append({"quantity": f"{slot} row {r + 1}: {SLOT_MEANINGS.get(slot, 'state')}", "x": value[r, 0],
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
