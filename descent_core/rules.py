"""The update rules of the guide, each a short ``chain`` of the named pieces in ``transforms``.

A rule takes its hyperparameters (floats or per-run tensors, already validated; never ``lr``, which is in force
per step) and returns the transform that maps a gradient to a direction d. The stepper then applies
theta <- theta - lr * d, unless the chain holds the learning rate itself (``scale_by_learning_rate``, as LARS's
does). Hyperparameter names and defaults are torch.optim's wherever torch has the optimizer: the registry in
``optimizers`` reads each default from the signature below, so it is written once.
"""

from __future__ import annotations

from .transforms import (
    IDENTITY,
    PowerOfStep,
    Transform,
    add_decayed_weights,
    add_l2_penalty,
    cautious_mask,
    chain,
    clip_by_block_rms,
    decay_weights,
    heavy_ball,
    is_zero,
    momentum_trace,
    scale_by_adam,
    scale_by_ademamix,
    scale_by_adopt,
    scale_by_decay_schedule,
    scale_by_delta_ratio,
    scale_by_factored_rms,
    scale_by_lars_trust,
    scale_by_learning_rate,
    scale_by_lion,
    scale_by_muon,
    scale_by_nadam,
    scale_by_prodigy,
    scale_by_radam,
    scale_by_relative_step,
    scale_by_rms,
    scale_by_second_moment,
    scale_by_shampoo,
    scale_by_soap,
    scale_by_sophia,
    scale_by_sum_of_squares,
    scale_by_trust_ratio,
    schedule_free,
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


# --------------------------------------------------------------------------------------------------------------
# After Adam (2024-2026). Names and defaults are each reference implementation's (torch's for Adafactor); the
# packages named are test dependencies only, pinned in requirements-dev.txt.


def adafactor(beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0) -> Transform:
    """Adafactor = RMSProp with a factored second moment, update clipping and a relative step size (Shazeer &
    Stern 2018; torch.optim.Adafactor): theta <- theta (1 - lr wd) - max(eps2, RMS(theta)) min(lr, 1/sqrt(t))
    * u / max(1, RMS(u) / d), u = g / sqrt(v_hat). A 2-D point is a vector (unfactored), as torch treats shape (2,)."""
    eps1, eps2 = eps
    return chain(
        scale_by_factored_rms(beta2_decay, eps1),
        clip_by_block_rms(d),
        scale_by_relative_step(eps2),
        decay_weights(weight_decay),
    )


def sf_adamw(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, warmup_steps=0.0, r=0.0,
             weight_lr_power=2.0) -> Transform:
    """Schedule-Free AdamW = Adam's normalised gradient (plus decay at y), averaged instead of scheduled
    (Defazio et al. 2024; schedulefree.AdamWScheduleFree): z <- z - lr_t (g / (sqrt(v_hat) + eps) + wd y),
    x <- (1 - c) x + c z, y <- (1 - b1) z + b1 x. theta is y, where the gradient is taken; evaluate at x."""
    b1, b2 = betas
    return chain(
        scale_by_second_moment(b2, eps),
        add_decayed_weights(weight_decay),
        schedule_free(b1, warmup_steps, r, weight_lr_power),
    )


def sf_sgd(momentum=0.9, weight_decay=0.0, warmup_steps=0.0, r=0.0, weight_lr_power=2.0) -> Transform:
    """Schedule-Free SGD = SGD whose momentum is an average of the iterates (Defazio et al. 2024;
    schedulefree.SGDScheduleFree): z <- z - lr_t (g + wd y), x <- (1 - c) x + c z, y <- (1 - mu) z + mu x."""
    return chain(
        add_l2_penalty(weight_decay),
        schedule_free(momentum, warmup_steps, r, weight_lr_power),
    )


def soap(betas=(0.95, 0.95), shampoo_beta=None, weight_decay=1e-2, precondition_frequency=10,
         precondition_1d=False, correct_bias=True, normalize_gradient=False, eps=1e-8) -> Transform:
    """SOAP = Adam in the eigenbasis of Shampoo's preconditioner, refreshed every few steps (Vyas et al. 2024;
    pytorch_optimizer.SOAP): theta <- (theta - lr Q_L (Q_L^T M Q_R / (sqrt(v) + eps)) Q_R^T)(1 - lr wd)."""
    b1, b2 = betas
    return chain(
        scale_by_soap(b1, b2, shampoo_beta, eps, int(precondition_frequency), precondition_1d, correct_bias,
                      normalize_gradient),
        scale_by_learning_rate(),
        decay_weights(weight_decay, after_step=True, first_step=2),  # the first step only collects statistics
    )


def _decoupled(weight_decay, weight_decouple: bool, fixed_decay: bool) -> tuple[Transform, Transform]:
    """pytorch_optimizer's three kinds of decay as (before, after) pieces of a chain: an L2 penalty on g, decay
    scaled by lr (AdamW's), or decay by wd alone (``fixed_decay``)."""
    if not weight_decouple:
        return add_l2_penalty(weight_decay), IDENTITY
    if is_zero(weight_decay):
        return IDENTITY, IDENTITY
    return IDENTITY, chain(scale_by_learning_rate(), decay_weights(weight_decay, scale_by_lr=not fixed_decay))


def adopt(betas=(0.9, 0.9999), clip_lambda=PowerOfStep(0.25), weight_decay=0.0, weight_decouple=False,
          fixed_decay=False, eps=1e-6) -> Transform:
    """ADOPT = momentum of the gradient normalised by the *previous* second moment, clipped (Taniguchi et al.
    2024; pytorch_optimizer.ADOPT): m <- EMA_b1(clip(g / max(sqrt(v_{t-1}), eps), t^(1/4))), theta <- theta - lr m."""
    b1, b2 = betas
    before, after = _decoupled(weight_decay, weight_decouple, fixed_decay)
    return chain(before, scale_by_adopt(b1, b2, eps, clip_lambda), after)


def ademamix(betas=(0.9, 0.999, 0.9999), weight_decay=0.0, weight_decouple=False, fixed_decay=False, alpha=5.0,
             t_alpha_beta3=None, eps=1e-8) -> Transform:
    """AdEMAMix = Adam plus a slow momentum in the numerator (Pagliardini et al. 2024; pytorch_optimizer.AdEMAMix):
    theta <- theta - lr (m_hat + alpha m_slow) / (sqrt(v_hat) + eps), m_slow <- EMA_b3(g)."""
    b1, b2, b3 = betas
    before, after = _decoupled(weight_decay, weight_decouple, fixed_decay)
    return chain(before, scale_by_ademamix(b1, b2, b3, alpha, t_alpha_beta3, eps), after)


def cautious_adamw(betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2) -> Transform:
    """Cautious AdamW = AdamW whose step is masked where it disagrees in sign with the gradient, rescaled to keep
    its size (Liang et al. 2024): d = phi (m_hat sqrt(1 - b2^t) / (sqrt(v) + eps)) n / (sum(phi) + 1) + wd theta."""
    b1, b2 = betas
    return chain(
        scale_by_adam(b1, b2, eps, eps_before_correction=True),
        cautious_mask(),
        add_decayed_weights(weight_decay),
    )


def prodigy(betas=(0.9, 0.999), beta3=None, eps=1e-8, weight_decay=0.0, decouple=True, use_bias_correction=False,
            safeguard_warmup=False, d0=1e-6, d_coef=1.0, growth_rate=float("inf"), slice_p=1) -> Transform:
    """Prodigy = Adam with steps of size d lr, d a growing estimate of the distance to the solution (Mishchenko &
    Defazio 2024; prodigyopt.Prodigy): d <- max(d, sum w <g, theta_0 - theta> / ||s||_1), lr = 1 by default."""
    b1, b2 = betas
    return chain(
        when(not decouple, add_l2_penalty(weight_decay)),
        scale_by_prodigy(b1, b2, beta3, eps, weight_decay, decouple, use_bias_correction, safeguard_warmup, d0,
                         d_coef, growth_rate, int(slice_p)),
    )
