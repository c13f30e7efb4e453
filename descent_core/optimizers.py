"""The registry of optimizer ids and the batched ``Stepper`` that runs any of them.

Hyperparameter names are torch.optim's wherever torch has the optimizer, and the semantics match torch
(tested in float64). Every scalar hyperparameter may be a per-run array: ``make_stepper("adam", lr=lrs)``
with ``lrs`` of length B steps B runs with B learning rates in one call.

    stepper = make_stepper("adam", lr=1e-2)
    state = stepper.init(theta)                      # theta: (B, *param_shape)
    theta, state = stepper.update(theta, grad, state)

Each id's defaults are read from its rule's signature (``rules``), plus the learning rate and the few values an
id sets differently (``overrides``) or fixes because they define it (``fixed``: "nesterov" is SGD with
``nesterov=True``). What a race must know about a rule is declared here, never inferred from its id.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, NamedTuple

import torch
from torch import Tensor

from . import hyper, rules
from .hyper import ANY_FINITE, NONNEGATIVE, POSITIVE, UNIT_INTERVAL_CLOSED, UNIT_INTERVAL_OPEN, Rule
from .transforms import Context, Transform, constant

# What each numeric hyperparameter must satisfy, by its torch name (betas element-wise); an id may override one.
LIMITS: dict[str, Rule] = {
    "lr": NONNEGATIVE, "momentum": NONNEGATIVE, "dampening": UNIT_INTERVAL_CLOSED, "weight_decay": NONNEGATIVE,
    "eps": POSITIVE, "betas": UNIT_INTERVAL_OPEN, "alpha": UNIT_INTERVAL_OPEN, "rho": UNIT_INTERVAL_CLOSED,
    "lr_decay": NONNEGATIVE, "initial_accumulator_value": NONNEGATIVE, "momentum_decay": NONNEGATIVE,
    "trust_coefficient": POSITIVE,
    # After Adam (the reference packages' names)
    "beta2_decay": Rule("<= 0", lambda x: x <= 0.0), "warmup_steps": NONNEGATIVE, "r": NONNEGATIVE,
    "weight_lr_power": NONNEGATIVE, "shampoo_beta": UNIT_INTERVAL_OPEN, "t_alpha_beta3": POSITIVE,
    "beta3": UNIT_INTERVAL_OPEN, "d0": POSITIVE, "d_coef": POSITIVE, "growth_rate": POSITIVE,
}
# Hyperparameters whose default, +inf, means "no limit" (Prodigy's growth_rate); every other value must be finite.
MAY_BE_INFINITE = frozenset({"growth_rate"})
OPEN_UNIT_INTERVAL = Rule("in (0, 1)", lambda x: (0.0 < x) & (x < 1.0))  # schedule-free SGD's momentum
# Hyperparameters that are flags or structure, never per-run arrays.
STRUCTURAL = frozenset({"nesterov", "centered", "amsgrad", "decoupled_weight_decay", "ns_coefficients", "ns_steps",
                        "adjust_lr_fn", "update_period",
                        "weight_decouple", "fixed_decay", "clip_lambda", "precondition_frequency", "precondition_1d",
                        "correct_bias", "normalize_gradient", "decouple", "use_bias_correction", "safeguard_warmup",
                        "slice_p"})
# A per-run learning rate is spelled out at theta's shape for parameters of at most this many elements, where the
# descent multiplies by it: broadcasting a (B, 1) operand along a short last axis is 4-6x slower on CPU than an
# operand of the same shape (measured on (B, 2): 6.7 against 1.6 us at B = 4,096, 905 against 265 us at
# B = 1,000,000). The copy costs a few bytes per run.
SPELLED_OUT_ELEMENTS = 16
# Hyperparameters that only ever meet tensors (added or multiplied, never in Python arithmetic): held as 0-dim
# tensors, because torch wraps a Python number into a new tensor on every op, which doubles the cost of the tiny
# ops a race is made of.
TENSOR_CONSTANTS = frozenset({"eps", "weight_decay", "trust_coefficient", "rho"})


@dataclass(frozen=True)
class OptimizerSpec:
    id: str
    name: str
    family: str
    rule: Callable[..., Transform]
    lr: float  # default learning rate
    reference: str
    overrides: Mapping[str, Any] = field(default_factory=dict)  # defaults that differ from the rule's signature
    fixed: Mapping[str, Any] = field(default_factory=dict)  # arguments that define the id
    limits: Mapping[str, Rule] = field(default_factory=dict)  # constraints that differ from ``LIMITS``
    torch_class: str | None = None  # the torch.optim class whose semantics this matches, when torch has it
    exact_gradient: bool = False  # full-batch (GD): a race's mini-batch noise does not apply
    needs_curvature: bool = False  # the rule reads a Hessian diagonal (Sophia-H): races pass the surface's
    evaluation_slot: str | None = None  # state slot of the point to evaluate when it is not theta (schedule-free: x)
    validate: Callable[[Mapping[str, Any]], None] | None = None  # checks that span several hyperparameters

    @functools.cached_property
    def defaults(self) -> dict[str, Any]:
        """Every hyperparameter a user may set, with its default: lr, the rule's signature, the overrides."""
        signature = {name: p.default for name, p in inspect.signature(self.rule).parameters.items()}
        unknown = set(self.overrides) - set(signature)
        if unknown:
            raise TypeError(f"{self.id}: overrides {sorted(unknown)} are not arguments of {self.rule.__name__}")
        return {"lr": self.lr, **{k: v for k, v in signature.items() if k not in self.fixed}, **self.overrides}

    def limit(self, name: str) -> Rule:
        return self.limits.get(name) or LIMITS.get(name, ANY_FINITE)

    @functools.cached_property
    def applies_lr(self) -> bool:
        """True when the rule's chain holds the learning rate itself (LARS): its output is the signed step."""
        return self.rule(**self.rule_arguments(self.defaults)).applies_lr

    def rule_arguments(self, hparams: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments of ``rule``: everything but the learning rate."""
        return {name: value for name, value in {**hparams, **self.fixed}.items() if name != "lr"}

    @functools.cached_property
    def state_slots(self) -> tuple[str, ...]:
        """Names of the buffers kept per parameter, read off a freshly initialised state (diagnostics left out)."""
        theta = torch.zeros(1, 2, dtype=torch.float64)
        return tuple(slot_names(make_stepper(self.id).init(theta).slots))


def slot_names(state: Any, diagnostics: bool = False) -> list[str]:
    """The buffer names in a chain's state, in order; ``diagnostics`` includes what is kept only to be inspected."""
    if isinstance(state, tuple) and hasattr(state, "_fields"):
        if getattr(state, "diagnostic", False) and not diagnostics:
            return []
        return [name for name in state._fields if getattr(state, name) is not None]
    if isinstance(state, tuple):
        return [name for item in state for name in slot_names(item, diagnostics)]
    return []


def _nesterov_needs_momentum(hp: Mapping[str, Any]) -> None:
    if not hp.get("nesterov"):
        return
    momentum, dampening = hp["momentum"], hp["dampening"]
    if (isinstance(momentum, float) and momentum <= 0) or (isinstance(momentum, Tensor) and (momentum <= 0).any()):
        raise ValueError("Nesterov momentum requires a momentum > 0")
    if (isinstance(dampening, float) and dampening != 0) or (isinstance(dampening, Tensor) and (dampening != 0).any()):
        raise ValueError("Nesterov momentum requires zero dampening")


def _muon_structure(hp: Mapping[str, Any]) -> None:
    if not 1 <= int(hp["ns_steps"]) < 100:
        raise ValueError("Invalid ns_steps for muon: must be between 1 and 99")
    if hp["adjust_lr_fn"] not in (None, "original", "match_rms_adamw"):
        raise ValueError(f"Invalid adjust_lr_fn for muon: {hp['adjust_lr_fn']!r}")


def _sophia_structure(hp: Mapping[str, Any]) -> None:
    if int(hp["update_period"]) < 1:
        raise ValueError("Invalid update_period for sophia: must be >= 1")


def _soap_structure(hp: Mapping[str, Any]) -> None:
    if int(hp["precondition_frequency"]) < 1:
        raise ValueError("Invalid precondition_frequency for soap: must be >= 1")


def _adopt_structure(hp: Mapping[str, Any]) -> None:
    if hp["clip_lambda"] is not None and not callable(hp["clip_lambda"]):
        raise ValueError("Invalid clip_lambda for adopt: must be a function of the step, or None for no clipping")


def _prodigy_structure(hp: Mapping[str, Any]) -> None:
    if int(hp["slice_p"]) < 1:
        raise ValueError("Invalid slice_p for prodigy: must be >= 1")


AFTER_ADAM = "After Adam"  # the family of the 2024-2026 rules


OPTIMIZERS: dict[str, OptimizerSpec] = {spec.id: spec for spec in [
    OptimizerSpec("gd", "Gradient descent", "Foundations", rules.sgd, 0.01, "Cauchy (1847); full-batch torch.optim.SGD",
                  fixed={"momentum": 0.0, "nesterov": False}, torch_class="SGD", exact_gradient=True),
    OptimizerSpec("sgd", "SGD", "Foundations", rules.sgd, 0.01, "Robbins & Monro (1951)", torch_class="SGD",
                  validate=_nesterov_needs_momentum),
    OptimizerSpec("momentum", "Momentum (heavy ball)", "Momentum", rules.sgd, 0.01, "Polyak (1964)",
                  overrides={"momentum": 0.9}, fixed={"nesterov": False}, torch_class="SGD"),
    OptimizerSpec("nesterov", "Nesterov momentum", "Momentum", rules.sgd, 0.01,
                  "Nesterov (1983); Sutskever et al. (2013)", overrides={"momentum": 0.9}, fixed={"nesterov": True},
                  torch_class="SGD", validate=_nesterov_needs_momentum),
    OptimizerSpec("adagrad", "AdaGrad", "Adaptive rates", rules.adagrad, 0.01, "Duchi, Hazan & Singer (2011)",
                  torch_class="Adagrad"),
    OptimizerSpec("rmsprop", "RMSProp", "Adaptive rates", rules.rmsprop, 0.01, "Tieleman & Hinton (2012), Lecture 6.5",
                  torch_class="RMSprop"),
    OptimizerSpec("adadelta", "AdaDelta", "Adaptive rates", rules.adadelta, 1.0, "Zeiler (2012)",
                  torch_class="Adadelta"),
    OptimizerSpec("adam", "Adam", "The Adam family", rules.adam, 1e-3, "Kingma & Ba (2015)", torch_class="Adam"),
    OptimizerSpec("amsgrad", "AMSGrad", "The Adam family", rules.adam, 1e-3, "Reddi, Kale & Kumar (2018)",
                  fixed={"amsgrad": True}, torch_class="Adam"),
    OptimizerSpec("adamw", "AdamW", "The Adam family", rules.adamw, 1e-3, "Loshchilov & Hutter (2019)",
                  torch_class="AdamW"),
    OptimizerSpec("nadam", "NAdam", "The Adam family", rules.nadam, 2e-3, "Dozat (2016)", torch_class="NAdam"),
    OptimizerSpec("radam", "RAdam", "The Adam family", rules.radam, 1e-3, "Liu et al. (2020)", torch_class="RAdam"),
    OptimizerSpec("lion", "Lion", "Frontier", rules.lion, 1e-4, "Chen et al. (2023)"),
    OptimizerSpec("lamb", "LAMB", "Frontier", rules.lamb, 1e-3, "You et al. (2020)"),
    OptimizerSpec("lars", "LARS", "Frontier", rules.lars, 1.0, "You, Gitman & Ginsburg (2017)"),
    OptimizerSpec("muon", "Muon", "Frontier", rules.muon, 1e-3, "Jordan et al. (2024)", torch_class="Muon",
                  limits={"momentum": UNIT_INTERVAL_CLOSED}, validate=_muon_structure),
    OptimizerSpec("shampoo", "Shampoo", "Frontier", rules.shampoo, 0.1, "Gupta, Koren & Singer (2018)"),
    OptimizerSpec("sophia", "Sophia", "Frontier", rules.sophia, 1e-4, "Liu et al. (2023)",
                  limits={"rho": POSITIVE}, needs_curvature=True, validate=_sophia_structure),
    OptimizerSpec("adafactor", "Adafactor", AFTER_ADAM, rules.adafactor, 1e-2, "Shazeer & Stern (2018)",
                  torch_class="Adafactor", limits={"eps": NONNEGATIVE, "d": Rule(">= 1", lambda x: x >= 1.0)}),
    OptimizerSpec("sf_adamw", "Schedule-Free AdamW", AFTER_ADAM, rules.sf_adamw, 0.0025, "Defazio et al. (2024)",
                  evaluation_slot="x"),
    OptimizerSpec("sf_sgd", "Schedule-Free SGD", AFTER_ADAM, rules.sf_sgd, 1.0, "Defazio et al. (2024)",
                  limits={"momentum": OPEN_UNIT_INTERVAL}, evaluation_slot="x"),
    OptimizerSpec("soap", "SOAP", AFTER_ADAM, rules.soap, 3e-3, "Vyas et al. (2024)", validate=_soap_structure),
    OptimizerSpec("adopt", "ADOPT", AFTER_ADAM, rules.adopt, 1e-3, "Taniguchi et al. (2024)",
                  validate=_adopt_structure),
    OptimizerSpec("ademamix", "AdEMAMix", AFTER_ADAM, rules.ademamix, 1e-3, "Pagliardini, Ablin & Grangier (2024)",
                  limits={"alpha": NONNEGATIVE}),
    OptimizerSpec("cautious_adamw", "Cautious AdamW", AFTER_ADAM, rules.cautious_adamw, 1e-3,
                  "Liang et al. (2024)"),
    OptimizerSpec("prodigy", "Prodigy", AFTER_ADAM, rules.prodigy, 1.0, "Mishchenko & Defazio (2024)",
                  limits={"lr": POSITIVE}, validate=_prodigy_structure),
]}


def unknown_optimizer(opt_id: str) -> ValueError:
    return ValueError(f"Unknown optimizer {opt_id!r}; valid ids: {', '.join(OPTIMIZERS)}")


def get_spec(opt_id: str) -> OptimizerSpec:
    if opt_id not in OPTIMIZERS:
        raise unknown_optimizer(opt_id)
    return OPTIMIZERS[opt_id]


def resolve_hparams(opt_id: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults merged with overrides, validated; scalars become floats and arrays float64 tensors of shape (B,)."""
    spec = get_spec(opt_id)
    overrides = dict(overrides or {})
    unknown = set(overrides) - set(spec.defaults) - set(spec.fixed)
    if unknown:
        raise ValueError(f"Unknown hyperparameter(s) {sorted(unknown)} for {opt_id}; valid: {sorted(spec.defaults)}")
    for name, fixed in spec.fixed.items():
        if name in overrides and overrides[name] != fixed:
            raise ValueError(f"{opt_id} means {name}={fixed}; use another optimizer id for {name}={overrides[name]}")
    merged = {**spec.defaults, **spec.fixed, **overrides}
    for name, value in list(merged.items()):
        if name in STRUCTURAL:
            continue
        default = spec.defaults.get(name)
        if isinstance(default, tuple):
            merged[name] = _resolve_tuple(opt_id, name, value, spec.limit(name), default)
            continue
        if value is None and default is None:
            continue  # an optional scalar left unset (SOAP's shampoo_beta, Prodigy's beta3)
        merged[name] = hyper.as_per_run(name, value)
        _check(name, merged[name], spec.limit(name), opt_id)
    if spec.validate is not None:
        try:
            spec.validate(merged)
        except ValueError as error:
            raise ValueError(f"{error} ({opt_id})") from None
    return merged


def _resolve_tuple(opt_id: str, name: str, value: Any, rule: Rule, default: tuple) -> tuple:
    """A tuple hyperparameter (betas; Adafactor's eps pair): one per-run value per element, None where the
    default element is None and the user left it so."""
    if not isinstance(value, (tuple, list)) or len(value) != len(default):
        if name == "betas" and len(default) == 2:
            raise ValueError(f"Invalid betas for {opt_id}: expected a pair (beta1, beta2), got {value!r}")
        raise ValueError(f"Invalid {name} for {opt_id}: expected {len(default)} values, got {value!r}")
    resolved = []
    for i, (element, default_element) in enumerate(zip(value, default)):
        label = f"beta parameter at index {i}" if name == "betas" else f"{name} at index {i}"
        if element is None and default_element is None:
            resolved.append(None)
            continue
        element = hyper.as_per_run(label, element)
        hyper.check(label, element, rule, opt_id)
        resolved.append(element)
    return tuple(resolved)


def _check(name: str, value: float | Tensor, rule: Rule, opt_id: str) -> None:
    """``hyper.check``, letting +inf through for the names where it means "no limit"."""
    if name in MAY_BE_INFINITE:
        value = value if isinstance(value, Tensor) else torch.tensor([value], dtype=torch.float64)
        value = value[~torch.isposinf(value)]
        if value.numel() == 0:
            return
    hyper.check(name, value, rule, opt_id)


# --------------------------------------------------------------------------------------------------------------
# Steppers.


class BoundRule(NamedTuple):
    """An optimizer's transform with its hyperparameters shaped for one batch (B, *param_shape)."""

    transform: Transform
    lr: Any  # float, or a per-run tensor shaped to broadcast against theta, (B, 1, ..., 1)
    descent_lr: Any  # the same, at theta's own shape when the parameter is small (``SPELLED_OUT_ELEMENTS``)


class StepperState(NamedTuple):
    t: int  # steps taken so far
    slots: Any  # the chain's state: NamedTuples of batched buffers
    rule: BoundRule  # fixed at init, carried along so ``update`` needs no lookup


class Stepper:
    """A batched optimizer: pure ``init``/``update`` over parameters shaped (B, *param_shape).

    Built from a registered id (``make_stepper``), or from any transform with ``Stepper.from_transform`` (the
    labs' variants of Adam that torch does not offer).
    """

    def __init__(self, opt_id: str, hparams: dict[str, Any]):
        self.spec: OptimizerSpec | None = get_spec(opt_id)
        self.name = opt_id
        self.hparams = hparams
        self._rule: Callable[..., Transform] = lambda **bound: self.spec.rule(**bound)
        self.batch_size = hyper.batch_size_of(_scalars(hparams))

    @classmethod
    def from_transform(cls, transform: Transform, lr: Any, name: str = "custom") -> "Stepper":
        """A stepper for a transform the registry does not hold: theta <- theta - lr * transform(g)."""
        stepper = cls.__new__(cls)
        stepper.spec, stepper.name = None, name
        stepper.hparams = {"lr": hyper.as_per_run("lr", lr)}
        stepper._rule = lambda **bound: transform
        stepper.batch_size = hyper.batch_size_of(_scalars(stepper.hparams))
        return stepper

    @property
    def id(self) -> str:
        return self.name

    def bind(self, theta: Tensor) -> BoundRule:
        if theta.ndim < 2:
            raise ValueError(f"theta must be batched, shaped (B, *param_shape); got shape {tuple(theta.shape)}")
        if self.batch_size is not None and self.batch_size != theta.shape[0]:
            raise ValueError(
                f"{self.id}: per-run hyperparameters have {self.batch_size} values but theta has {theta.shape[0]} runs"
            )
        bound = {name: _bind_value(name, value, theta) for name, value in self.hparams.items()}
        lr = bound.pop("lr")
        spell_out = isinstance(lr, Tensor) and theta[0].numel() <= SPELLED_OUT_ELEMENTS
        return BoundRule(self._rule(**bound), lr, lr.expand(theta.shape).contiguous() if spell_out else lr)

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
        u, slots = rule.transform.update(grad, state.slots, Context(t, theta, lr, curvature, grad))
        if rule.transform.applies_lr:
            theta_next = theta + u
        elif rule.descent_lr is rule.lr:  # not spelled out: the scaled rate above is the one to descend by
            theta_next = descend(theta, u, lr)
        else:
            theta_next = descend(theta, u, rule.descent_lr if lr_scale == 1.0 else rule.descent_lr * lr_scale)
        return theta_next, StepperState(t, slots, rule)

    def evaluation_point(self, theta: Tensor, state: StepperState) -> Tensor:
        """The point a reader evaluates: theta for ordinary rules; for schedule-free rules, whose theta is y (where
        the gradient is taken), the averaged point x kept in the state (``OptimizerSpec.evaluation_slot``).
        Same shape as theta; before the first step x equals theta."""
        slot = self.spec.evaluation_slot if self.spec is not None else None
        if slot is None:
            return theta
        return find_slot(state.slots, slot)

    def __repr__(self) -> str:
        return f"Stepper({self.id!r}, {self.hparams!r})"


def descend(theta: Tensor, direction: Tensor, lr: float | Tensor) -> Tensor:
    """theta - lr * direction (one fused op when lr is a plain number)."""
    return theta.add(direction, alpha=-lr) if isinstance(lr, float) else theta - lr * direction


def find_slot(slots: Any, name: str) -> Tensor:
    """The first buffer called ``name`` in a chain's state."""
    if isinstance(slots, tuple) and hasattr(slots, "_fields") and name in slots._fields:
        return getattr(slots, name)
    if isinstance(slots, tuple):
        for item in slots:
            if isinstance(item, tuple):
                try:
                    return find_slot(item, name)
                except KeyError:
                    pass
    raise KeyError(name)


def _scalars(hparams: Mapping[str, Any]) -> list:
    values = []
    for name, value in hparams.items():
        if name in STRUCTURAL or value is None:
            continue
        if isinstance(value, tuple):
            values.extend(v for v in value if v is not None)
        else:
            values.append(value)
    return values


def _bind_value(name: str, value: Any, theta: Tensor) -> Any:
    if name in STRUCTURAL or value is None:
        return value
    if isinstance(value, tuple):
        return tuple(None if b is None else hyper.bind(b, theta) for b in value)
    if name in TENSOR_CONSTANTS and isinstance(value, float):
        return constant(value, theta)
    return hyper.bind(value, theta)


def make_stepper(opt_id: str, **hparams: Any) -> Stepper:
    """A validated, batched stepper for ``opt_id`` with torch.optim's hyperparameter names."""
    return Stepper(opt_id, resolve_hparams(opt_id, hparams))
