"""The live figures placed in section pages by ``{{figure:id}}`` markers.

Each figure is data: the claim its caption states, the checks that make the claim testable (``descent_core.claims``:
named properties of the race, each with a threshold), the race it runs, and the knobs a reader may turn (all
bounded). ``render_figure`` draws the knobs, runs the race through a cache, and shows it with every setting disclosed
and every check's verdict recomputed on the race drawn, so a caption that a reader's settings make false says so.
``tests/test_figure_claims.py`` runs every figure at its defaults through ``figure_payload``, the function the page
uses, and asserts every check.

Clicking the map restarts a figure's race from that point (``on_start``): the point lands in the figure's own
"Choose the start point" sliders, so it stays for the session and can be fine-tuned or switched off there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import streamlit as st

import descent_core as dc
from descent_core import claims as cl

from . import race_view
from .state import RACE_DEVICE

Checks = tuple[cl.Check, ...]


@dataclass(frozen=True)
class Knob:
    label: str
    name: str  # hyperparameter name; "noise" is the race's gradient-noise level
    applies_to: tuple[str, ...]  # optimizer ids the value is given to
    low: float
    high: float
    default: float
    log: bool = False
    beta_index: int | None = None  # for betas: which of the pair
    run: int | None = None  # for a per-run sweep: which run this knob sets

    def options(self) -> list[float]:
        if self.log:
            grid = np.geomspace(self.low, self.high, 41)
            return sorted({float(f"{v:.3g}") for v in np.append(grid, self.default)})
        return []


@dataclass(frozen=True)
class Figure:
    id: str
    title: str
    claim: str  # the caption: every part of it is one of the checks below
    landscape: str
    optimizers: tuple[str, ...]
    checks: Checks | Mapping[str, Checks] = ()  # one tuple, or one per surface the reader may pick
    steps: int = 200
    hparams: dict[str, dict[str, Any]] = field(default_factory=dict)
    knobs: tuple[Knob, ...] = ()
    landscape_choices: tuple[str, ...] = ()
    noise: float = 0.0
    schedule_choices: tuple[str, ...] = ()
    default_schedule: str = "constant"
    show_loss: bool = False
    tip: str = ""  # an invitation to turn a knob (not part of the claim)

    def checks_for(self, landscape: str) -> Checks:
        if isinstance(self.checks, Mapping):
            return tuple(self.checks.get(landscape, ()))
        return tuple(self.checks)


def _lr(opt: str, landscape: str, low: float, high: float, applies: tuple[str, ...] | None = None,
        label: str | None = None) -> Knob:
    tuned = dc.LANDSCAPES[landscape].tuned.get(opt, {}).get("lr", dc.OPTIMIZERS[opt].defaults["lr"])
    name = dc.OPTIMIZERS[opt].name
    return Knob(label or f"{name}: learning rate η", "lr", applies or (opt,), low, high, tuned, log=True)


_FRONTIER_COMMON = (
    cl.sign_steps("lion", share_at_least=0.95),
    cl.tracks_norm("lamb", correlation_at_least=0.9),
    cl.even_steps("muon", at_most=1.2),
    cl.never_settles("muon"),
)
_ROTATION = (
    cl.same_when_rotated("gd", within=0.01),
    cl.same_when_rotated("shampoo", within=0.01),
    cl.same_when_rotated("muon", within=0.25),
    cl.changes_when_rotated("adam", by_at_least=0.5),
    cl.changes_when_rotated("lion", by_at_least=0.5),
)

FIGURES: dict[str, Figure] = {f.id: f for f in [
    Figure("ravine_gd", "Gradient descent in a ravine",
           "The valley is twenty times steeper across than along, and one step size has to serve both directions. "
           "At η = 0.09 gradient descent overshoots the floor on almost every step, bouncing from wall to wall, and "
           "most of the ground it covers is across the valley rather than along it.",
           "ravine", ("gd",),
           checks=(cl.zigzags("gd", at_least=20), cl.mostly_across("gd", share_at_least=0.6)),
           steps=120, hparams={"gd": {"lr": 0.09}},
           knobs=(Knob("learning rate η", "lr", ("gd",), 0.005, 0.12, 0.09, log=True),),
           tip="Lower η below 0.05 and the bouncing stops: then the walk along the floor is what takes time."),
    Figure("gd_step_sizes", "Three step sizes, one ravine",
           "Three runs of gradient descent where λmax = 20 puts the edge of stability at 2/λmax = 0.1. At "
           "η = 0.01 the steps are too short ever to cross the floor, so that run never zig-zags; the middle run "
           "(η = 0.09) flips across the valley at almost every step and still settles; at η = 0.102, just past the "
           "edge, every crossing is longer than the one before and the run leaves the picture.",
           "ravine", ("gd",),
           checks=(cl.swings_at_most("gd", at_most=0, run=0, who="the run at η = 0.01"),
                   cl.zigzags("gd", at_least=20, run=1, who="the middle run"),
                   cl.settles_by("gd", step=150, run=1, who="the middle run"),
                   cl.leaves_region("gd", run=2, who="the run at η = 0.102")),
           steps=150, hparams={"gd": {"lr": [0.01, 0.09, 0.102]}},
           knobs=(Knob("middle run's η", "lr", ("gd",), 0.005, 0.12, 0.09, log=True, run=1),)),
    Figure("sgd_noise", "Full batch against mini-batches",
           "With noisy gradients (σ = 2, as from small batches) SGD travels gradient descent's road down the "
           "valley but shakes to and fro around it; once at the floor it never settles, and keeps hovering within "
           "a short distance of the minimum, while the noise-free run settles.",
           "ravine", ("gd", "sgd"),
           checks=(cl.zigzags("sgd", at_least=20, direction="x", across="along the valley"),
                   cl.never_settles("sgd"), cl.ends_near_minimum("sgd", within=1.0), cl.settles_by("gd", step=200)),
           steps=200, noise=2.0, hparams={"gd": {"lr": 0.05}, "sgd": {"lr": 0.05}},
           knobs=(Knob("learning rate η (both)", "lr", ("gd", "sgd"), 0.005, 0.09, 0.05, log=True),
                  Knob("gradient noise σ (∝ 1/√batch)", "noise", (), 0.0, 10.0, 2.0)),
           tip="Set σ to 0 and SGD is gradient descent again; raise it and the cloud it hovers in widens."),
    Figure("saddle_escape", "Escaping a saddle",
           "Started a hair off the ridge of f = x² − y², plain SGD slides into the saddle point and stays there for "
           "the whole race. RMSProp and Adam divide the tiny downhill gradient by its own small size and get away "
           "first; momentum needs longer to gather speed, then runs downhill fastest of all.",
           "saddle", ("sgd", "momentum", "rmsprop", "adam"),
           checks=(cl.lingers("sgd", until=150), cl.escapes_before("rmsprop", step=50),
                   cl.escapes_before("adam", step=50), cl.ranks_above("rmsprop", "momentum"),
                   cl.ranks_above("adam", "momentum"), cl.escapes_before("momentum", step=150),
                   cl.lowest_final_loss("momentum")),
           steps=150,
           hparams={"sgd": {"lr": 0.01}, "momentum": {"lr": 0.01}, "rmsprop": {"lr": 0.01}, "adam": {"lr": 0.03}}),
    Figure("momentum_vs_sgd", "Momentum against SGD, same ravine",
           "SGD at η = 0.09 crosses the valley floor on almost every step. Heavy-ball momentum, with a third of "
           "that step and μ = 0.7, lets the alternating pushes across the valley cancel in its velocity and keeps "
           "the steady one along it: it changes direction across the valley less than half as often and settles "
           "sooner.",
           "ravine", ("sgd", "momentum"),
           checks=(cl.zigzags("sgd", at_least=20), cl.fewer_swings("momentum", "sgd", ratio=0.5),
                   cl.settles_sooner("momentum", "sgd", by_at_least=10)),
           steps=150, hparams={"sgd": {"lr": 0.09}, "momentum": {"lr": 0.03, "momentum": 0.7}},
           knobs=(Knob("momentum μ", "momentum", ("momentum",), 0.0, 0.99, 0.7),
                  Knob("Momentum: learning rate η", "lr", ("momentum",), 0.001, 0.09, 0.03, log=True)),
           tip="Push μ to 0.95 and the ball overshoots along the valley too: more swings and a later finish."),
    Figure("nesterov_vs_momentum", "Nesterov against heavy ball",
           "Both with η = 0.03 and μ = 0.9. Heavy-ball momentum swings across the valley again and again; "
           "Nesterov takes its gradient where the momentum is about to carry it, so it starts braking earlier: it "
           "swings far less, runs a shorter way past the minimum, and settles first.",
           "ravine", ("momentum", "nesterov"),
           checks=(cl.fewer_swings("nesterov", "momentum", ratio=0.5), cl.less_overshoot("nesterov", "momentum"),
                   cl.settles_sooner("nesterov", "momentum", by_at_least=10)),
           steps=150,
           hparams={"momentum": {"lr": 0.03, "momentum": 0.9}, "nesterov": {"lr": 0.03, "momentum": 0.9}},
           knobs=(Knob("momentum μ (both)", "momentum", ("momentum", "nesterov"), 0.0, 0.99, 0.9),
                  Knob("learning rate η (both)", "lr", ("momentum", "nesterov"), 0.001, 0.09, 0.03, log=True))),
    Figure("adagrad_axes", "AdaGrad equalises the axes",
           "Dividing each coordinate by the root of its own squared-gradient history gives every axis a step that "
           "suits it, so on the axis-aligned ravine AdaGrad walks almost straight to the floor and finishes ahead "
           "of gradient descent, each of its steps no longer than the one before. Turn the ravine by 45° (pick the "
           "surface above) and the axes no longer match the valley's: AdaGrad then falls behind gradient descent.",
           "ravine", ("gd", "adagrad"),
           checks={"ravine": (cl.straight("adagrad", at_most=1.1), cl.ranks_above("adagrad", "gd"),
                              cl.shrinking_steps("adagrad", share_at_least=0.95)),
                   "rotated_ravine": (cl.ranks_above("gd", "adagrad"),
                                      cl.shrinking_steps("adagrad", share_at_least=0.95))},
           steps=200, landscape_choices=("ravine", "rotated_ravine"),
           knobs=(Knob("AdaGrad: learning rate η", "lr", ("adagrad",), 0.05, 5.0, 1.5, log=True),)),
    Figure("rmsprop_adadelta", "AdaGrad, RMSProp and AdaDelta",
           "AdaGrad and RMSProp both divide by a running scale of the gradient, and both head almost straight for "
           "the minimum. AdaDelta needs no learning rate in principle, but its first steps are about √ε long: at "
           "lr = 1 it is still close to its start after 200 steps and ranks last.",
           "ravine", ("adagrad", "rmsprop", "adadelta"),
           checks=(cl.straight("adagrad", at_most=1.1), cl.straight("rmsprop", at_most=1.1),
                   cl.stays_near_start("adadelta", within=2.0), cl.ranks_last("adadelta")),
           steps=200, hparams={"adagrad": {"lr": 1.5}, "rmsprop": {"lr": 0.1}, "adadelta": {"lr": 1.0}},
           knobs=(Knob("RMSProp: decay α", "alpha", ("rmsprop",), 0.5, 0.999, 0.99),
                  Knob("RMSProp: learning rate η", "lr", ("rmsprop",), 0.001, 1.0, 0.1, log=True),
                  Knob("AdaDelta: lr multiplier", "lr", ("adadelta",), 0.1, 100.0, 1.0, log=True),
                  Knob("AdaDelta: ε", "eps", ("adadelta",), 1e-8, 1e-1, 1e-6, log=True)),
           tip="Raise AdaDelta's ε or its multiplier and watch how much of its slowness was the √ε start."),
    Figure("adam_beale", "Adam on the Beale function",
           "Adam's step is close to η in each coordinate wherever it stands, so it crosses Beale's plateau and "
           "canyon at an even pace; SGD's step is η·|g|, so it lunges down the steep first slope and then crawls. "
           "Over the first 100 steps SGD's longest step is dozens of times its median one, Adam's barely twice; "
           "Adam also ends with the lowest loss. Compare the spacing of the dots along each trail.",
           "beale", ("sgd", "momentum", "adam"),
           checks=(cl.uneven_steps("sgd", at_least=20, until=100), cl.even_steps("adam", at_most=3, until=100),
                   cl.ranks_first("adam")),
           steps=300, hparams={"sgd": {"lr": 0.01}, "momentum": {"lr": 0.001}, "adam": {"lr": 0.05}},
           knobs=(Knob("Adam: β1", "betas", ("adam",), 0.0, 0.99, 0.9, beta_index=0),
                  Knob("Adam: learning rate η", "lr", ("adam",), 0.001, 0.5, 0.05, log=True))),
    Figure("amsgrad_vs_adam", "AMSGrad against Adam",
           "On a smooth surface the running maximum of v seldom binds, so AMSGrad walks nearly the same road as "
           "Adam, never more than 0.15 away at the same step, and ends with a loss at most a fifth higher. Its "
           "reason to exist is the adversarial problem in the lab below.",
           "rosenbrock", ("adam", "amsgrad"),
           checks=(cl.paths_close("amsgrad", "adam", within=0.15), cl.lower_final_loss("amsgrad", "adam", factor=1.2)),
           steps=300, hparams={"adam": {"lr": 0.05}, "amsgrad": {"lr": 0.05}},
           knobs=(Knob("β2 (both)", "betas", ("adam", "amsgrad"), 0.5, 0.9999, 0.999, beta_index=1),
                  Knob("learning rate η (both)", "lr", ("adam", "amsgrad"), 0.001, 0.3, 0.05, log=True))),
    Figure("adamw_vs_adam", "L2 inside Adam against decoupled decay",
           "Both use λ = 0.2. Adam adds λθ to the gradient, and the division by √v̂ weakens that pull wherever "
           "gradients are large; AdamW takes ηλθ off the weights at every step, undivided. Both stop short of "
           "Beale's minimum at (3, 0.5), AdamW by more, and AdamW ends nearer the origin its decay pulls towards.",
           "beale", ("adam", "adamw"),
           checks=(cl.stops_short("adam", by_at_least=0.3), cl.closer_to_minimum("adam", "adamw"),
                   cl.nearer_to("adamw", "adam")),
           steps=300, hparams={"adam": {"lr": 0.05, "weight_decay": 0.2}, "adamw": {"lr": 0.05, "weight_decay": 0.2}},
           knobs=(Knob("weight decay λ (both)", "weight_decay", ("adam", "adamw"), 0.0, 1.0, 0.2),),
           tip="Set λ to 0 and the two rules are the same: their paths coincide."),
    Figure("nadam_vs_adam", "NAdam against Adam",
           "At the same η NAdam and Adam travel nearly the same road, never more than 0.3 apart at the same step; "
           "NAdam's look-ahead momentum cuts the corners a little, so its path is the more direct of the two.",
           "beale", ("adam", "nadam"),
           checks=(cl.paths_close("nadam", "adam", within=0.3), cl.straighter("nadam", "adam")),
           steps=300, hparams={"adam": {"lr": 0.05}, "nadam": {"lr": 0.05}},
           knobs=(Knob("learning rate η (both)", "lr", ("adam", "nadam"), 0.001, 0.3, 0.05, log=True),)),
    Figure("frontier_rotated", "Diagonal against rotation-invariant methods",
           "Every run here is raced a second time on the ravine turned the other way, and the two paths are compared "
           "after turning one back. Gradient descent and full-matrix Shampoo trace the same path to rounding, Muon "
           "the same path up to its bfloat16 jitter near the minimum; Adam and Lion, which scale each coordinate "
           "on its own, take clearly different roads.",
           "rotated_ravine", ("gd", "adam", "lion", "shampoo", "muon"),
           checks={"rotated_ravine": _ROTATION, "ravine": _ROTATION},
           steps=200,
           # One setting for both surfaces (the ravine's tuned rates): the two races then differ only by the turn.
           hparams={"gd": {"lr": 0.0562}, "adam": {"lr": 1.33}, "lion": {"lr": 0.1}, "shampoo": {"lr": 5.62},
                    "muon": {"lr": 0.178, "weight_decay": 0.0}},
           landscape_choices=("rotated_ravine", "ravine")),
    Figure("frontier_race", "The frontier optimizers on Rosenbrock",
           "In Rosenbrock's curved valley Lion moves every coordinate by exactly η at each step; LAMB's steps grow "
           "and shrink with its distance from the origin, the trust ratio at work; Muon's orthogonalised steps all "
           "have about the same length, so it hops around the minimum without settling; Shampoo, using the 2×2 "
           "curvature, settles first.",
           "rosenbrock", ("adam", "lion", "lamb", "lars", "shampoo", "sophia", "muon"),
           checks={"rosenbrock": _FRONTIER_COMMON + (cl.ranks_first("shampoo"),),
                   "beale": _FRONTIER_COMMON, "himmelblau": _FRONTIER_COMMON, "rastrigin": _FRONTIER_COMMON},
           steps=300, landscape_choices=("rosenbrock", "beale", "himmelblau", "rastrigin")),
    Figure("adafactor_relative_step", "Adafactor's relative step",
           "Adafactor scales its step by the size of θ itself, so as it closes in on the minimum at the origin "
           "every step is no longer than the one before and the step length follows ‖θ‖ closely; with its update "
           "clipped and no momentum it crosses the valley floor at most twice, while Adam at its tuned rate swings "
           "across it again and again.",
           "ravine", ("adam", "adafactor"),
           checks=(cl.shrinking_steps("adafactor", share_at_least=0.95),
                   cl.tracks_norm("adafactor", correlation_at_least=0.9),
                   cl.swings_at_most("adafactor", at_most=2), cl.zigzags("adam", at_least=10)),
           steps=200),
    Figure("schedule_free_average", "Schedule-Free: an average in place of a schedule",
           "Both run at a constant η = 0.5 on noisy gradients (σ = 3), with no schedule. AdamW's iterate keeps "
           "jumping about; Schedule-Free AdamW is drawn at its averaged point x, which moves smoothly: its path is "
           "far more direct, and it turns back along the valley a small fraction as often as AdamW does.",
           "ravine", ("adamw", "sf_adamw"),
           checks=(cl.straighter("sf_adamw", "adamw"),
                   cl.fewer_swings("sf_adamw", "adamw", ratio=0.25, direction="x", across="along the valley")),
           steps=300, noise=3.0, hparams={"adamw": {"lr": 0.5}, "sf_adamw": {"lr": 0.5}},
           knobs=(Knob("gradient noise σ", "noise", (), 0.0, 10.0, 3.0),),
           tip="Set σ to 0: without noise there is little to average away, and the two paths look alike."),
    Figure("soap_rotated", "SOAP on the turned ravine",
           "SOAP runs Adam in the eigenbasis of a running 2×2 average of g gᵀ, refreshed every 10 steps. On a lone "
           "2-D point that basis rests on a few gradients, and on this turned ravine it does not line up with the "
           "valley: SOAP's path changes with the turn by more than a unit, it runs far past the minimum along the "
           "way, and it ends behind Adam at the same η.",
           "rotated_ravine", ("adam", "soap"),
           checks=(cl.changes_when_rotated("soap", by_at_least=1.0), cl.ranks_above("adam", "soap"),
                   cl.overshoots("soap", by_at_least=1.0, direction=(0.7071, 0.7071))),
           steps=200, hparams={"adam": {"lr": 0.422}, "soap": {"lr": 0.422, "precondition_1d": True}}),
    Figure("adopt_vs_adam", "ADOPT against Adam",
           "ADOPT's first update only records v₁ = g₁², so it stands still for one step; after that it averages "
           "gradients already divided by the previous second moment, takes a road of its own, and settles within "
           "five steps of Adam (each at its tuned rate).",
           "beale", ("adam", "adopt"),
           checks=(cl.still_at_first_step("adopt"), cl.paths_apart("adopt", "adam", by_at_least=0.3),
                   cl.settles_near("adopt", "adam", within=5)),
           steps=300),
    Figure("ademamix_memory", "AdEMAMix's slow memory",
           "At the same η = 0.1 on Beale, Adam settles at the minimum; AdEMAMix adds a second, very slow momentum to "
           "its numerator, and that memory carries it past the minimum at (3, 0.5) so it is still not settled "
           "when the race ends.",
           "beale", ("adam", "ademamix"),
           checks=(cl.settles_by("adam", step=300),
                   cl.overshoots("ademamix", by_at_least=0.1, target=(3.0, 0.5)),
                   cl.less_overshoot("adam", "ademamix", target=(3.0, 0.5)), cl.never_settles("ademamix")),
           steps=300, hparams={"adam": {"lr": 0.1}, "ademamix": {"lr": 0.1}}),
    Figure("cautious_mask", "The cautious mask",
           "Both at η = 1. AdamW's momentum keeps pushing across the valley after the gradient has turned; Cautious "
           "AdamW drops every coordinate whose step disagrees with the current gradient, so it changes direction "
           "across the valley less than half as often, takes the more direct road and settles at least 20 steps "
           "sooner.",
           "ravine", ("adamw", "cautious_adamw"),
           checks=(cl.fewer_swings("cautious_adamw", "adamw", ratio=0.5), cl.straighter("cautious_adamw", "adamw"),
                   cl.settles_sooner("cautious_adamw", "adamw", by_at_least=20)),
           steps=200, hparams={"adamw": {"lr": 1.0}, "cautious_adamw": {"lr": 1.0}}),
    Figure("prodigy_estimate", "Prodigy finds its step size",
           "Prodigy starts from d₀ = 10⁻⁶, so its first steps are under a hundredth of η = 1 and nearly every one "
           "of its first ten steps is longer than the one before, as the estimate of the distance to the "
           "solution grows; with no tuned learning rate it still settles within 150 steps.",
           "ravine", ("adam", "prodigy"),
           checks=(cl.small_first_steps("prodigy", ratio_at_most=0.01),
                   cl.growing_first_steps("prodigy", until=10, share_at_least=0.8),
                   cl.settles_by("prodigy", step=150)),
           steps=200),
    Figure("home_race", "Four ways down a ravine",
           "Same start, same ravine, four rules. Gradient descent at η = 0.09 flips across the valley on almost "
           "every step, and on a ravine this mild the zig-zag still finishes first; heavy-ball momentum runs past "
           "the minimum along the floor and swings back to settle; Adam takes the most direct road of the four; "
           "Lion moves every coordinate by exactly η on each step, so it never settles on the minimum.",
           "ravine", ("gd", "momentum", "adam", "lion"),
           checks=(cl.zigzags("gd", at_least=20), cl.ranks_first("gd"), cl.overshoots("momentum", by_at_least=1.0),
                   cl.settles_by("momentum", step=200), cl.straightest("adam"),
                   cl.sign_steps("lion", share_at_least=0.95), cl.never_settles("lion")),
           steps=200,
           hparams={"gd": {"lr": 0.09}, "momentum": {"lr": 0.01, "momentum": 0.9}, "adam": {"lr": 0.15},
                    "lion": {"lr": 0.1}}),
    Figure("schedules_warmup", "Learning-rate schedules on a noisy problem",
           "With warmup, Adam's first steps are a small fraction of η, taken while its v̂ still rests on a handful of "
           "noisy gradients; with the cosine decay the last steps shrink to almost nothing, so all three runs stop "
           "jittering and the cloud they wander in around the minimum draws together.",
           "ravine", ("sgd", "momentum", "adam"),
           checks=(cl.small_first_steps("adam", ratio_at_most=0.3), cl.calms_down("sgd", ratio_at_most=0.2),
                   cl.calms_down("momentum", ratio_at_most=0.2), cl.calms_down("adam", ratio_at_most=0.2)),
           steps=300, noise=3.0,
           hparams={"sgd": {"lr": 0.05}, "momentum": {"lr": 0.01}, "adam": {"lr": 0.5}},
           schedule_choices=("constant", "warmup", "cosine", "warmup_cosine", "step"),
           default_schedule="warmup_cosine", show_loss=True,
           tip="Switch the schedule to constant: the first steps are full size and the jitter never dies down."),
]}


def _apply_knob(hparams: dict[str, dict[str, Any]], knob: Knob, value: float, landscape: dc.Landscape) -> None:
    for opt in knob.applies_to:
        current = hparams.setdefault(opt, {})
        if knob.beta_index is not None:
            betas = list(current.get("betas", dc.OPTIMIZERS[opt].defaults["betas"]))
            betas[knob.beta_index] = value
            current["betas"] = tuple(betas)
        elif knob.run is not None:
            values = list(current[knob.name])
            values[knob.run] = value
            current[knob.name] = values
        else:
            current[knob.name] = value


def knobs_for(figure: Figure, landscape: dc.Landscape) -> tuple[Knob, ...]:
    """The figure's own knobs, plus a learning-rate knob for every optimizer that has none, so every race on every
    page can be re-tuned. Its default is the figure's setting, else the surface's tuned rate; its range 30x either
    way."""
    covered = {opt for knob in figure.knobs if knob.name == "lr" for opt in knob.applies_to}
    extra = []
    for opt in figure.optimizers:
        if opt in covered:
            continue
        default = figure.hparams.get(opt, {}).get(
            "lr", landscape.tuned.get(opt, {}).get("lr", dc.OPTIMIZERS[opt].defaults["lr"]))
        extra.append(Knob(f"{dc.OPTIMIZERS[opt].name}: learning rate η", "lr", (opt,), float(f"{default / 30:.3g}"),
                          float(f"{default * 30:.3g}"), float(default), log=True))
    return figure.knobs + tuple(extra)


def settings_for(figure: Figure, values: dict[str, Any]) -> dict[str, Any]:
    """Resolve knob values into race arguments (pure: the cache key and the tests use it)."""
    landscape = dc.get_landscape(values.get("landscape", figure.landscape))
    hparams = json.loads(json.dumps(figure.hparams))  # a deep copy of plain data
    noise = figure.noise
    for knob in knobs_for(figure, landscape):
        value = float(values.get(knob.label, knob.default))
        if not knob.low <= value <= knob.high:
            raise ValueError(f"{knob.label} must be in [{knob.low}, {knob.high}]; got {value}")
        if knob.name == "noise":
            noise = value
        else:
            _apply_knob(hparams, knob, value, landscape)
    start = values.get("start") or landscape.start
    return {"landscape": landscape.id, "optimizers": list(figure.optimizers), "steps": figure.steps,
            "hparams": hparams, "noise": noise, "start": [float(start[0]), float(start[1])],
            "schedule": values.get("schedule", figure.default_schedule)}


def run_figure_race(settings: dict[str, Any]) -> dc.Race:
    schedule = dc.schedules.offered(settings["schedule"], settings["steps"])
    return dc.race(settings["landscape"], settings["optimizers"], steps=settings["steps"],
                   starts=[settings["start"]], hparams=settings["hparams"], noise=settings["noise"], seed=0,
                   schedule=schedule, device=RACE_DEVICE)


@st.cache_data(max_entries=256, show_spinner=False)
def figure_payload(figure_id: str, settings_json: str) -> dict[str, Any]:
    """The race a figure draws for these settings, its table and its claim's verdicts (cached by both)."""
    figure = FIGURES[figure_id]
    settings = json.loads(settings_json)
    race = run_figure_race(settings)
    return race_view.payload(race, show_loss=figure.show_loss, checks=figure.checks_for(settings["landscape"]))


def figure_view(figure_id: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the page shows for a figure with these knob values (defaults when none): the tests' entry point."""
    settings = settings_for(FIGURES[figure_id], values or {})
    return figure_payload(figure_id, race_view.settings_key(settings))


def render_figure(figure_id: str, key_prefix: str = "") -> None:
    """Draw a figure with its knobs; unknown ids get a visible notice instead of a crash."""
    figure = FIGURES.get(figure_id)
    if figure is None:
        st.error(f"Figure {figure_id!r} is not defined.")
        return
    key = f"{key_prefix}fig.{figure.id}"
    with st.container(border=True):
        st.markdown(f"##### {figure.title}")
        values = _knob_widgets(figure, key)
        try:
            settings = settings_for(figure, values)
            view = figure_payload(figure.id, race_view.settings_key(settings))
        except ValueError as error:  # bounded widgets make this rare; say what is wrong, keep the page
            st.error(f"This setting cannot run: {error}")
            return
        race_view.show(view, claim=figure.claim, key=f"{key}.chart",
                       on_start=lambda: _start_clicked(key, settings["landscape"]))
        if figure.tip:
            st.caption(f"Try it: {figure.tip}")


def _start_clicked(key: str, landscape_id: str) -> None:
    """The reader clicked the map: move the figure's start sliders there (and switch them on)."""
    point = race_view.clicked_start(f"{key}.chart")
    if point is None:
        return
    (x0, x1), (y0, y1) = dc.LANDSCAPES[landscape_id].bounds
    st.session_state[f"{key}.own_start"] = True
    st.session_state[f"{key}.sx.{landscape_id}"] = float(round(min(max(point[0], x0), x1), 2))
    st.session_state[f"{key}.sy.{landscape_id}"] = float(round(min(max(point[1], y0), y1), 2))


def _knob_widgets(figure: Figure, key: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    landscape = dc.get_landscape(figure.landscape)
    with st.expander("Adjust this figure", expanded=False):
        columns = st.columns(2)
        if figure.landscape_choices:
            chosen = columns[0].selectbox("Surface", figure.landscape_choices, key=f"{key}.landscape",
                                          format_func=lambda i: dc.LANDSCAPES[i].name)
            values["landscape"] = chosen
            landscape = dc.LANDSCAPES[chosen]
        if figure.schedule_choices:
            values["schedule"] = columns[1].selectbox(
                "Schedule", figure.schedule_choices, key=f"{key}.schedule",
                index=figure.schedule_choices.index(figure.default_schedule), format_func=_schedule_name)
        for i, knob in enumerate(knobs_for(figure, landscape)):
            column = columns[i % 2]
            # A learning-rate knob added for a surface has that surface's range: its widget is keyed by surface.
            widget_key = f"{key}.{knob.label}" if knob in figure.knobs else f"{key}.{landscape.id}.{knob.label}"
            if knob.log:
                values[knob.label] = column.select_slider(knob.label, options=knob.options(), value=float(
                    f"{knob.default:.3g}"), key=widget_key, format_func=lambda v: f"{v:g}")
            else:
                values[knob.label] = column.slider(knob.label, knob.low, knob.high, knob.default, key=widget_key)
        (x0, x1), (y0, y1) = landscape.bounds
        use_own_start = st.toggle("Choose the start point (or click the map)", key=f"{key}.own_start")
        if use_own_start:
            cx, cy = st.columns(2)
            sx_key, sy_key = f"{key}.sx.{landscape.id}", f"{key}.sy.{landscape.id}"
            st.session_state.setdefault(sx_key, float(landscape.start[0]))
            st.session_state.setdefault(sy_key, float(landscape.start[1]))
            sx = cx.slider("start x", float(x0), float(x1), key=sx_key)
            sy = cy.slider("start y", float(y0), float(y1), key=sy_key)
            values["start"] = (sx, sy)
    return values


def _schedule_name(kind: str) -> str:
    return {"constant": "constant", "warmup": "warmup", "cosine": "cosine", "warmup_cosine": "warmup + cosine",
            "step": "step decay"}.get(kind, kind.replace("_", " + "))
