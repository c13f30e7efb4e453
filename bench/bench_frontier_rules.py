"""Per-step cost of the eight rules after Adam on one 2-D point, as ratios to Adam's, measured in one process.

A race steps (1, 2) float32 parameters, where every tensor op costs about a microsecond of dispatch: a rule's
cost is its op count. Each rule steps a ravine-like gradient for ``STEPS`` steps under inference_mode (as races
do); the fastest of ``REPEATS`` interleaved rounds is reported, with the grand race of every registered optimizer.

    python bench/bench_frontier_rules.py
"""

from __future__ import annotations

import pathlib
import statistics
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import descent_core as dc  # noqa: E402

STEPS = 500
REPEATS = 9
IDS = ("adam", "adamw", "shampoo", "adafactor", "sf_adamw", "sf_sgd", "soap", "adopt", "ademamix",
       "cautious_adamw", "prodigy")
SETTINGS = {"soap": {"precondition_1d": True}}  # the rotated form, as the tuned races on the surfaces run it


def one_round(opt_id: str, hparams: dict) -> float:
    stepper = dc.make_stepper(opt_id, **hparams)
    scale = torch.tensor([[1.0, 100.0]])
    theta = torch.tensor([[-8.0, 0.5]])
    state = stepper.init(theta)
    with torch.inference_mode():
        start = time.perf_counter()
        for _ in range(STEPS):
            theta, state = stepper.update(theta, theta * scale, state)
        return (time.perf_counter() - start) / STEPS


def per_step_seconds(rules: dict[str, tuple[str, dict]]) -> dict[str, float]:
    """The fastest of REPEATS rounds per rule, the rules interleaved within each round so that a busy spell of
    the machine slows all of them alike."""
    times = {label: [] for label in rules}
    for _ in range(REPEATS):
        for label, (opt_id, hparams) in rules.items():
            times[label].append(one_round(opt_id, hparams))
    return {label: min(values) for label, values in times.items()}


def grand_race_ms(landscape: str) -> float:
    ids = list(dc.OPTIMIZERS)
    dc.race(landscape, ids, steps=20, device="cpu")  # warm up
    times = []
    for _ in range(5):
        start = time.perf_counter()
        dc.race(landscape, ids, steps=500, device="cpu")
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main() -> None:
    torch.set_num_threads(1)
    rules = {opt: (opt, SETTINGS.get(opt, {})) for opt in IDS}
    rules["soap (vector default)"] = ("soap", {})
    results = per_step_seconds(rules)
    adam = results["adam"]
    print(f"{'rule':24s} {'us/step':>8s} {'x Adam':>7s}")
    for opt, seconds in results.items():
        print(f"{opt:24s} {1e6 * seconds:8.1f} {seconds / adam:7.2f}")
    for landscape in ("beale", "ravine"):
        ms = grand_race_ms(landscape)
        print(f"grand race, {len(dc.OPTIMIZERS)} optimizers x 500 steps on {landscape}: {ms:.0f} ms")


if __name__ == "__main__":
    main()
