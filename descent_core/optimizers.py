"""The 18 optimizers of the guide, each a short ``chain`` of the named pieces in ``transforms``.

Hyperparameter names are torch.optim's wherever torch has the optimizer, and the semantics match torch
(tested in float64). Every scalar hyperparameter may be a per-run array: ``make_stepper("adam", lr=lrs)``
with ``lrs`` of length B steps B runs with B learning rates in one call.

    stepper = make_stepper("adam", lr=1e-2)
    state = stepper.init(theta)                      # theta: (B, *param_shape)
    theta, state = stepper.update(theta, grad, state)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, NamedTuple

import torch
from torch import Tensor

from . import hyper
from .hyper import ANY_FINITE, NONNEGATIVE, POSITIVE, UNIT_INTERVAL_CLOSED, UNIT_INTERVAL_OPEN, Rule
from .transforms import (
    Context,
    constant,
    Transform,
    add_decayed_weights,
    add_l2_penalty,
    chain,
    heavy_ball,
    momentum_trace,
    scale_by_adam,
    scale_by_decay_schedule,
    scale_by_delta_ratio,
    scale_by_lars_trust,
    scale_by_learning_rate,
    scale_by_lion,
    scale_by_muon,
    scale_by_nadam,
    scale_by_radam,
    scale_by_rms,
    scale_by_shampoo,
    scale_by_sophia,
    scale_by_sum_of_squares,
    scale_by_trust_ratio,
)

# --------------------------------------------------------------------------------------------------------------
# The update rules. Each takes already-validated hyperparameters (floats or per-run tensors) and returns the
# transform that maps a gradient to a direction d; the stepper then applies theta <- theta - lr * d
# (``descend``), with lr the learning rate in force at that step.


def sgd(momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False) -> Transform:
    """SGD: theta <- theta - lr * g, optionally with heavy-ball momentum (torch.optim.SGD)."""
    has_momentum = not (isinstance(momentum, float) and momentum == 0.0)
    return chain(
        add_l2_penalty(weight_decay),
        *([heavy_ball(momentum, dampening, nesterov)] if has_momentum else []),
    )


def adagrad(lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10) -> Transform:
    """AdaGrad = SGD divided, per coordinate, by the root of every squared gradient seen so far."""
    return chain(
        add_l2_penalty(weight_decay),
        scale_by_sum_of_squares(eps, initial_accumulator_value),
        scale_by_decay_schedule(lr_decay),  # after: the accumulator sees the raw gradient
    )


def rmsprop(alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False) -> Transform:
    """RMSProp = AdaGrad with a leaky (exponential) average of g^2 instead of a sum, so the step stops shrinking."""
    has_momentum = not (isinstance(momentum, float) and momentum == 0.0)
    return chain(
        add_l2_penalty(weight_decay),
        scale_by_rms(alpha, eps, centered),
        *([momentum_trace(momentum)] if has_momentum else []),
    )


def adadelta(rho=0.9, eps=1e-6, weight_decay=0.0) -> Transform:
    """AdaDelta = RMSProp whose numerator is the RMS of past updates, so the step has the units of theta."""
    return chain(add_l2_penalty(weight_decay), scale_by_delta_ratio(rho, eps))


def adam(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled_weight_decay=False) -> Transform:
    """Adam = momentum + RMSProp + bias correction. ``weight_decay`` is an L2 penalty unless decoupled."""
    b1, b2 = betas
    if decoupled_weight_decay:
        return chain(scale_by_adam(b1, b2, eps, amsgrad), add_decayed_weights(weight_decay))
    return chain(add_l2_penalty(weight_decay), scale_by_adam(b1, b2, eps, amsgrad))


def adamw(betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False) -> Transform:
    """AdamW = Adam + weight decay applied to the parameters directly, outside the adaptive scaling."""
    return adam(betas, eps, weight_decay, amsgrad, decoupled_weight_decay=True)


def nadam(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3, decoupled_weight_decay=False) -> Transform:
    """NAdam = Adam + a Nesterov look-ahead on the first moment (torch's version, with a momentum schedule)."""
    b1, b2 = betas
    decay = add_decayed_weights(weight_decay) if decoupled_weight_decay else None
    return chain(
        *([] if decoupled_weight_decay else [add_l2_penalty(weight_decay)]),
        scale_by_nadam(b1, b2, eps, momentum_decay),
        *([decay] if decay else []),
    )


def radam(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False) -> Transform:
    """RAdam = Adam that switches its adaptive factor on only once the variance of v is tractable (a built-in warmup)."""
    b1, b2 = betas
    if decoupled_weight_decay:
        return chain(scale_by_radam(b1, b2, eps), add_decayed_weights(weight_decay))
    return chain(add_l2_penalty(weight_decay), scale_by_radam(b1, b2, eps))


def lion(betas=(0.9, 0.99), weight_decay=0.0) -> Transform:
    """Lion = the sign of an interpolation between momentum and gradient, plus decoupled decay (Chen et al. 2023)."""
    b1, b2 = betas
    return chain(scale_by_lion(b1, b2), add_decayed_weights(weight_decay))


def lamb(betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0) -> Transform:
    """LAMB = AdamW's direction rescaled per layer by the trust ratio ||theta|| / ||d|| (You et al. 2020)."""
    b1, b2 = betas
    return chain(scale_by_adam(b1, b2, eps), add_decayed_weights(weight_decay), scale_by_trust_ratio())


def lars(momentum=0.9, weight_decay=0.0, trust_coefficient=1e-3) -> Transform:
    """LARS = momentum SGD with a per-layer rate eta ||w|| / (||g|| + wd ||w||) (You et al. 2017).

    The velocity includes the learning rate, v <- mu v + lr * local_lr * (g + wd w), as in the paper; the
    stepper's final ``-lr`` scaling is therefore folded in before the momentum (see ``LARS_RULE``).
    """
    return chain(scale_by_lars_trust(trust_coefficient, weight_decay))


def shampoo(eps=1e-4) -> Transform:
    """Shampoo = AdaGrad with full (Kronecker-factored) preconditioner matrices (Gupta et al. 2018)."""
    return chain(scale_by_shampoo(eps))


def sophia(betas=(0.965, 0.99), rho=0.04, eps=1e-12, weight_decay=0.1, update_period=10) -> Transform:
    """Sophia = momentum divided by a clipped, slowly refreshed Hessian-diagonal estimate (Liu et al. 2023)."""
    b1, b2 = betas
    return chain(scale_by_sophia(b1, b2, rho, eps, int(update_period)), add_decayed_weights(weight_decay))


def muon(weight_decay=0.1, momentum=0.95, nesterov=True, ns_coefficients=(3.4445, -4.775, 2.0315), eps=1e-7,
         ns_steps=5, adjust_lr_fn=None) -> Transform:
    """Muon = Nesterov momentum whose update is orthogonalised by Newton-Schulz (torch.optim.Muon)."""
    return chain(
        scale_by_muon(momentum, nesterov, tuple(ns_coefficients), int(ns_steps), float(eps), adjust_lr_fn),
        add_decayed_weights(weight_decay),
    )


# --------------------------------------------------------------------------------------------------------------
# The registry.


@dataclass(frozen=True)
class OptimizerSpec:
    id: str
    name: str
    family: str
    rule: Callable[..., Transform]
    defaults: Mapping[str, Any]
    rules: Mapping[str, Rule]  # constraint of each numeric hyperparameter (betas checked element-wise)
    reference: str
    torch_class: str | None = None  # the torch.optim class whose semantics this matches, when torch has it
    torch_kwargs: Mapping[str, Any] = field(default_factory=dict)  # fixed torch arguments that define the id
    momentum_after_lr: bool = False  # LARS: velocity accumulates lr-scaled steps
    exact_gradient: bool = False  # GD: full-batch, so a race's mini-batch noise does not apply

    @property
    def state_slots(self) -> tuple[str, ...]:
        """Names of the buffers kept per parameter, read off a freshly initialised state."""
        theta = torch.zeros(1, 2, dtype=torch.float64)
        return tuple(_slot_names(make_stepper(self.id).init(theta).slots))


def _slot_names(state: Any) -> list[str]:
    if isinstance(state, tuple) and hasattr(state, "_fields"):
        return [name for name in state._fields if getattr(state, name) is not None]
    if isinstance(state, tuple):
        return [name for item in state for name in _slot_names(item)]
    return []


LR = {"lr": NONNEGATIVE}
BETAS = {"betas": UNIT_INTERVAL_OPEN}
_SGD_RULES = {**LR, "momentum": NONNEGATIVE, "dampening": UNIT_INTERVAL_CLOSED, "weight_decay": NONNEGATIVE}
_ADAM_RULES = {**LR, **BETAS, "eps": POSITIVE, "weight_decay": NONNEGATIVE}


def _spec(id, name, family, rule, defaults, rules, reference, **extra) -> OptimizerSpec:
    return OptimizerSpec(id, name, family, rule, defaults, rules, reference, **extra)


OPTIMIZERS: dict[str, OptimizerSpec] = {
    spec.id: spec
    for spec in [
        _spec("gd", "Gradient descent", "Foundations", sgd,
              {"lr": 0.01, "dampening": 0.0, "weight_decay": 0.0}, _SGD_RULES,
              "Cauchy (1847); full-batch torch.optim.SGD", torch_class="SGD", exact_gradient=True),
        _spec("sgd", "SGD", "Foundations", sgd,
              {"lr": 0.01, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False}, _SGD_RULES,
              "Robbins & Monro (1951)", torch_class="SGD"),
        _spec("momentum", "Momentum (heavy ball)", "Momentum", sgd,
              {"lr": 0.01, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0}, _SGD_RULES,
              "Polyak (1964)", torch_class="SGD"),
        _spec("nesterov", "Nesterov momentum", "Momentum", sgd,
              {"lr": 0.01, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0, "nesterov": True}, _SGD_RULES,
              "Nesterov (1983); Sutskever et al. (2013)", torch_class="SGD"),
        _spec("adagrad", "AdaGrad", "Adaptive rates", adagrad,
              {"lr": 0.01, "lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 1e-10},
              {**LR, "lr_decay": NONNEGATIVE, "weight_decay": NONNEGATIVE, "initial_accumulator_value": NONNEGATIVE,
               "eps": POSITIVE},
              "Duchi, Hazan & Singer (2011)", torch_class="Adagrad"),
        _spec("rmsprop", "RMSProp", "Adaptive rates", rmsprop,
              {"lr": 0.01, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0, "centered": False},
              {**LR, "alpha": UNIT_INTERVAL_OPEN, "eps": POSITIVE, "weight_decay": NONNEGATIVE,
               "momentum": NONNEGATIVE},
              "Tieleman & Hinton (2012), Lecture 6.5", torch_class="RMSprop"),
        _spec("adadelta", "AdaDelta", "Adaptive rates", adadelta,
              {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0},
              {**LR, "rho": UNIT_INTERVAL_CLOSED, "eps": POSITIVE, "weight_decay": NONNEGATIVE},
              "Zeiler (2012)", torch_class="Adadelta"),
        _spec("adam", "Adam", "The Adam family", adam,
              {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False,
               "decoupled_weight_decay": False}, _ADAM_RULES,
              "Kingma & Ba (2015)", torch_class="Adam"),
        _spec("amsgrad", "AMSGrad", "The Adam family", adam,
              {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": True,
               "decoupled_weight_decay": False}, _ADAM_RULES,
              "Reddi, Kale & Kumar (2018)", torch_class="Adam"),
        _spec("adamw", "AdamW", "The Adam family", adamw,
              {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2, "amsgrad": False}, _ADAM_RULES,
              "Loshchilov & Hutter (2019)", torch_class="AdamW"),
        _spec("nadam", "NAdam", "The Adam family", nadam,
              {"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "momentum_decay": 4e-3,
               "decoupled_weight_decay": False}, {**_ADAM_RULES, "momentum_decay": NONNEGATIVE},
              "Dozat (2016)", torch_class="NAdam"),
        _spec("radam", "RAdam", "The Adam family", radam,
              {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "decoupled_weight_decay": False},
              _ADAM_RULES, "Liu et al. (2020)", torch_class="RAdam"),
        _spec("lion", "Lion", "Frontier", lion,
              {"lr": 1e-4, "betas": (0.9, 0.99), "weight_decay": 0.0},
              {**LR, **BETAS, "weight_decay": NONNEGATIVE}, "Chen et al. (2023)"),
        _spec("lamb", "LAMB", "Frontier", lamb,
              {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-6, "weight_decay": 0.0}, _ADAM_RULES,
              "You et al. (2020)"),
        _spec("lars", "LARS", "Frontier", lars,
              {"lr": 1.0, "momentum": 0.9, "weight_decay": 0.0, "trust_coefficient": 1e-3},
              {**LR, "momentum": NONNEGATIVE, "weight_decay": NONNEGATIVE, "trust_coefficient": POSITIVE},
              "You, Gitman & Ginsburg (2017)", momentum_after_lr=True),
        _spec("muon", "Muon", "Frontier", muon,
              {"lr": 1e-3, "weight_decay": 0.1, "momentum": 0.95, "nesterov": True,
               "ns_coefficients": (3.4445, -4.775, 2.0315), "eps": 1e-7, "ns_steps": 5, "adjust_lr_fn": None},
              {**LR, "weight_decay": NONNEGATIVE, "momentum": UNIT_INTERVAL_CLOSED, "eps": POSITIVE},
              "Jordan et al. (2024)", torch_class="Muon"),
        _spec("shampoo", "Shampoo", "Frontier", shampoo,
              {"lr": 0.1, "eps": 1e-4}, {**LR, "eps": POSITIVE}, "Gupta, Koren & Singer (2018)"),
        _spec("sophia", "Sophia", "Frontier", sophia,
              {"lr": 1e-4, "betas": (0.965, 0.99), "rho": 0.04, "eps": 1e-12, "weight_decay": 0.1,
               "update_period": 10},
              {**LR, **BETAS, "rho": POSITIVE, "eps": POSITIVE, "weight_decay": NONNEGATIVE},
              "Liu et al. (2023)"),
    ]
}

# Hyperparameters that are flags or structure, never per-run arrays.
_STRUCTURAL = {"nesterov", "centered", "amsgrad", "decoupled_weight_decay", "ns_coefficients", "ns_steps",
               "adjust_lr_fn", "update_period"}
# Hyperparameters that fix which torch configuration an id stands for.
_FIXED = {"gd": {"momentum": 0.0, "nesterov": False}, "momentum": {"nesterov": False},
          "nesterov": {"nesterov": True}, "amsgrad": {"amsgrad": True}}


def unknown_optimizer(opt_id: str) -> ValueError:
    return ValueError(f"Unknown optimizer {opt_id!r}; valid ids: {', '.join(OPTIMIZERS)}")


def resolve_hparams(opt_id: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults merged with overrides, validated; scalars become floats and arrays float64 tensors of shape (B,)."""
    if opt_id not in OPTIMIZERS:
        raise unknown_optimizer(opt_id)
    spec = OPTIMIZERS[opt_id]
    overrides = dict(overrides or {})
    unknown = set(overrides) - set(spec.defaults) - set(_FIXED.get(opt_id, {}))
    if unknown:
        raise ValueError(f"Unknown hyperparameter(s) {sorted(unknown)} for {opt_id}; valid: {sorted(spec.defaults)}")
    for name, fixed in _FIXED.get(opt_id, {}).items():
        if name in overrides and overrides[name] != fixed:
            raise ValueError(f"{opt_id} means {name}={fixed}; use another optimizer id for {name}={overrides[name]}")
    merged = {**spec.defaults, **_FIXED.get(opt_id, {}), **overrides}
    for name, value in list(merged.items()):
        if name in _STRUCTURAL:
            continue
        if name == "betas":
            if not isinstance(value, (tuple, list)) or len(value) != 2:
                raise ValueError(f"Invalid betas for {opt_id}: expected a pair (beta1, beta2), got {value!r}")
            pair = tuple(hyper.as_per_run(f"beta parameter at index {i}", b) for i, b in enumerate(value))
            for i, b in enumerate(pair):
                hyper.check(f"beta parameter at index {i}", b, spec.rules["betas"], opt_id)
            merged[name] = pair
            continue
        merged[name] = hyper.as_per_run(name, value)
        hyper.check(name, merged[name], spec.rules.get(name, ANY_FINITE), opt_id)
    _check_structure(opt_id, merged)
    return merged


def _check_structure(opt_id: str, hp: dict[str, Any]) -> None:
    if hp.get("nesterov") and opt_id in ("sgd", "nesterov"):
        momentum, dampening = hp["momentum"], hp["dampening"]
        if (isinstance(momentum, float) and momentum <= 0) or (isinstance(momentum, Tensor) and (momentum <= 0).any()):
            raise ValueError(f"Nesterov momentum requires a momentum > 0 ({opt_id})")
        if (isinstance(dampening, float) and dampening != 0) or (isinstance(dampening, Tensor) and (dampening != 0).any()):
            raise ValueError(f"Nesterov momentum requires zero dampening ({opt_id})")
    if opt_id == "muon":
        if int(hp["ns_steps"]) < 1 or int(hp["ns_steps"]) >= 100:
            raise ValueError("Invalid ns_steps for muon: must be between 1 and 99")
        if hp["adjust_lr_fn"] not in (None, "original", "match_rms_adamw"):
            raise ValueError(f"Invalid adjust_lr_fn for muon: {hp['adjust_lr_fn']!r}")
    if opt_id == "sophia" and int(hp["update_period"]) < 1:
        raise ValueError("Invalid update_period for sophia: must be >= 1")


# --------------------------------------------------------------------------------------------------------------
# Steppers.


class BoundRule(NamedTuple):
    """An optimizer's transform with its hyperparameters shaped for one batch (B, *param_shape)."""

    transform: Transform
    lr: Any  # float, or a per-run tensor shaped like theta's batch
    lr_inside_momentum: bool  # LARS: the velocity already carries -lr


class StepperState(NamedTuple):
    t: int  # steps taken so far
    slots: Any  # the chain's state: NamedTuples of batched buffers
    rule: BoundRule  # fixed at init, carried along so ``update`` needs no lookup


class Stepper:
    """A batched optimizer: pure ``init``/``update`` over parameters shaped (B, *param_shape)."""

    def __init__(self, opt_id: str, hparams: dict[str, Any]):
        self.spec = OPTIMIZERS[opt_id]
        self.hparams = hparams
        self.batch_size = hyper.batch_size_of(_scalars(hparams))

    @property
    def id(self) -> str:
        return self.spec.id

    def bind(self, theta: Tensor) -> BoundRule:
        if theta.ndim < 2:
            raise ValueError(f"theta must be batched, shaped (B, *param_shape); got shape {tuple(theta.shape)}")
        if self.batch_size is not None and self.batch_size != theta.shape[0]:
            raise ValueError(
                f"{self.id}: per-run hyperparameters have {self.batch_size} values but theta has {theta.shape[0]} runs"
            )
        bound = {name: _bind_value(name, value, theta) for name, value in self.hparams.items()}
        lr = bound.pop("lr")
        transform = self.spec.rule(**bound)
        if self.spec.momentum_after_lr:  # LARS: v <- mu v + lr * local_lr * (g + wd w), then theta <- theta + v
            transform = chain(transform, scale_by_learning_rate(), momentum_trace(bound["momentum"]))
        return BoundRule(transform, lr, self.spec.momentum_after_lr)

    def init(self, theta: Tensor) -> StepperState:
        rule = self.bind(theta)
        return StepperState(0, rule.transform.init(theta), rule)

    def update(self, theta: Tensor, grad: Tensor, state: StepperState, *, lr_scale: float = 1.0,
               curvature: Tensor | None = None) -> tuple[Tensor, StepperState]:
        """One step: returns the new parameters and state. ``lr_scale`` is a schedule's factor on lr;
        ``curvature`` a Hessian diagonal (or a function returning one) for curvature-aware rules (Sophia)."""
        rule = state.rule
        t = state.t + 1
        lr = rule.lr if lr_scale == 1.0 else rule.lr * lr_scale
        direction, slots = rule.transform.update(grad, state.slots, Context(t, theta, lr, curvature))
        theta_next = theta + direction if rule.lr_inside_momentum else descend(theta, direction, lr)
        return theta_next, StepperState(t, slots, rule)

    def __repr__(self) -> str:
        return f"Stepper({self.id!r}, {self.hparams!r})"


def descend(theta: Tensor, direction: Tensor, lr: float | Tensor) -> Tensor:
    """theta - lr * direction (one fused op when lr is a plain number)."""
    return theta.add(direction, alpha=-lr) if isinstance(lr, float) else theta - lr * direction


def _scalars(hparams: Mapping[str, Any]) -> list:
    values = []
    for name, value in hparams.items():
        if name == "betas":
            values.extend(value)
        elif name not in _STRUCTURAL:
            values.append(value)
    return values


# Hyperparameters that only ever meet tensors (added or multiplied, never in Python arithmetic): held as 0-dim
# tensors, because torch wraps a Python number into a new tensor on every op, which doubles the cost of the tiny
# ops a race is made of.
_TENSOR_CONSTANTS = {"eps", "weight_decay", "trust_coefficient", "rho"}


def _bind_value(name: str, value: Any, theta: Tensor) -> Any:
    if name in _STRUCTURAL:
        return value
    if name == "betas":
        return tuple(hyper.bind(b, theta) for b in value)
    if name in _TENSOR_CONSTANTS and isinstance(value, float):
        return constant(value, theta)
    return hyper.bind(value, theta)


def make_stepper(opt_id: str, **hparams: Any) -> Stepper:
    """A validated, batched stepper for ``opt_id`` with torch.optim's hyperparameter names."""
    return Stepper(opt_id, resolve_hparams(opt_id, hparams))
