"""The update rules of the guide, each a short ``chain`` of the named pieces in ``transforms``.

A rule takes its hyperparameters (floats or per-run tensors, already validated; never ``lr``, which is in force
per step) and returns the transform that maps a gradient to a direction d. The stepper then applies
theta <- theta - lr * d, unless the chain holds the learning rate itself (``scale_by_learning_rate``, as LARS's
does). Hyperparameter names and defaults are torch.optim's wherever torch has the optimizer: the registry in
``optimizers`` reads each default from the signature below, so it is written once.
"""

from __future__ import annotations

from .transforms import (
    Transform,
    add_decayed_weights,
    add_l2_penalty,
    chain,
    heavy_ball,
    is_zero,
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
    when,
)


def sgd(momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False) -> Transform:
    """SGD: theta <- theta - lr * g, optionally with heavy-ball momentum (torch.optim.SGD)."""
    return chain(
        add_l2_penalty(weight_decay),
        when(not is_zero(momentum), heavy_ball(momentum, dampening, nesterov)),
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
    return chain(
        add_l2_penalty(weight_decay),
        scale_by_rms(alpha, eps, centered),
        when(not is_zero(momentum), momentum_trace(momentum)),
    )


def adadelta(rho=0.9, eps=1e-6, weight_decay=0.0) -> Transform:
    """AdaDelta = RMSProp whose numerator is the RMS of past updates, so the step has the units of theta."""
    return chain(add_l2_penalty(weight_decay), scale_by_delta_ratio(rho, eps))


def adam(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled_weight_decay=False) -> Transform:
    """Adam = momentum + RMSProp + bias correction. ``weight_decay`` is an L2 penalty unless decoupled."""
    b1, b2 = betas
    return chain(
        when(not decoupled_weight_decay, add_l2_penalty(weight_decay)),
        scale_by_adam(b1, b2, eps, amsgrad),
        when(decoupled_weight_decay, add_decayed_weights(weight_decay)),
    )


def adamw(betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False) -> Transform:
    """AdamW = Adam + weight decay applied to the parameters directly, outside the adaptive scaling."""
    return adam(betas, eps, weight_decay, amsgrad, decoupled_weight_decay=True)


def nadam(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3, decoupled_weight_decay=False) -> Transform:
    """NAdam = Adam + a Nesterov look-ahead on the first moment (torch's version, with a momentum schedule)."""
    b1, b2 = betas
    return chain(
        when(not decoupled_weight_decay, add_l2_penalty(weight_decay)),
        scale_by_nadam(b1, b2, eps, momentum_decay),
        when(decoupled_weight_decay, add_decayed_weights(weight_decay)),
    )


def radam(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False) -> Transform:
    """RAdam = Adam that switches its adaptive factor on only once the variance of v is tractable (a built-in warmup)."""
    b1, b2 = betas
    return chain(
        when(not decoupled_weight_decay, add_l2_penalty(weight_decay)),
        scale_by_radam(b1, b2, eps),
        when(decoupled_weight_decay, add_decayed_weights(weight_decay)),
    )


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

    The velocity carries the learning rate, v <- mu v + lr * local_lr * (g + wd w), then w <- w - v, as in the
    paper: so the learning rate is a piece inside this chain, before the momentum.
    """
    return chain(
        scale_by_lars_trust(trust_coefficient, weight_decay),
        scale_by_learning_rate(),
        momentum_trace(momentum),
    )


def shampoo(eps=1e-4) -> Transform:
    """Shampoo = AdaGrad with full (Kronecker-factored) preconditioner matrices (Gupta et al. 2018)."""
    return scale_by_shampoo(eps)


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
