"""descent_core speed and memory, as ratios against baselines measured in the same process (these machines are
shared and noisy: a ratio holds far better than a time).

    python bench/bench_core.py              # everything below; add --quick to skip the million-run sweep
    python bench/bench_core.py --json out.json

1. Adam sweep, B = 4096 per-run learning rates x 500 steps, through ``race()`` (every step recorded), against
   torch.optim.Adam(fused=True) with autograd on one (4096, 2) tensor (target <= 0.6x).
2. The same sweep with final-point recording, against fused torch.optim.Adam given the closed-form gradient
   (target <= 1.1x), and the batched stepper alone against the same baseline (what the recording adds). Also: one
   torch.optim.Adam per run (timed on a subset, scaled), for scale.
3. The grand race, every optimizer x 500 steps, float32, CPU, on Beale and the ravine: median wall time (targets
   <= 70 ms for the first 18 rules, <= 100 ms for all 26), and the torch.optim loop over the torch-backed ones.
4. Fair mode: every optimizer x 16 learning rates x 300 steps tuned in one race (target < 1 s).
5. Peak memory of a race at the 20M-point cap (target <= 0.5 GB), in a fresh process, above its baseline.
6. 1,000,000 runs x 500 steps, final-point recording, CPU: time and peak memory (in a fresh process).
7. On CUDA (when present): the million-run sweep there, particle-steps per second.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import descent_core as dc  # noqa: E402
from descent_core.fair import tune_fairly  # noqa: E402

RAVINE = dc.LANDSCAPES["ravine"]
FIRST_18 = list(dc.OPTIMIZERS)[:18]


def median_time(fn, repeats: int) -> float:
    fn()  # warm: imports, the allocator, cached constants
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def paired_times(first, second, rounds: int = 15) -> tuple[float, float, float]:
    """Median times of two functions run in alternation, and the median of their per-round ratios: a neighbour's
    burst slows both halves of a round alike, so the ratio holds where the times do not."""
    first(), second()
    times, ratios = ([], []), []
    for _ in range(rounds):
        pair = []
        for fn, samples in zip((first, second), times):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
            pair.append(samples[-1])
        ratios.append(pair[0] / pair[1])
    return statistics.median(times[0]), statistics.median(times[1]), statistics.median(ratios)


def blocked_times(first, second, rounds: int = 3, repeats: int = 5) -> tuple[float, float, float]:
    """Like ``paired_times``, but each round runs one function ``repeats`` times, then the other: a race that
    records every step writes tens of MB, and run straight after the baseline's allocations it finds that memory
    returned to the system and faults it in again (measured: 23 ms in a block of its own, about 44 ms
    alternating). Both are reported."""
    medians, ratios = ([], []), []
    for _ in range(rounds):
        pair = [median_time(fn, repeats) for fn in (first, second)]
        for samples, value in zip(medians, pair):
            samples.append(value)
        ratios.append(pair[0] / pair[1])
    return statistics.median(medians[0]), statistics.median(medians[1]), statistics.median(ratios)


# ----- 1 and 2: the sweep ------------------------------------------------------------------------------------


def sweep_race_fn(runs: int, steps: int, record=1, device="cpu"):
    lrs = np.geomspace(1e-3, 1.0, runs)
    return lambda: dc.race("ravine", ["adam"], steps=steps, hparams={"adam": {"lr": lrs}}, record=record,
                           device=device)


def sweep_race(runs: int, steps: int, record=1, device="cpu") -> float:
    return median_time(sweep_race_fn(runs, steps, record, device), repeats=5)


def stepper_alone_fn(runs: int, steps: int):
    """The race's own arithmetic and nothing else: the closed-form gradient and the batched Adam stepper, with no
    recording, no losses and no divergence checks. What a final-point race adds to this is its bookkeeping."""
    stepper = dc.make_stepper("adam", lr=np.geomspace(1e-3, 1.0, runs))
    starts = torch.tensor([RAVINE.start]).repeat(runs, 1)

    def run():
        with torch.inference_mode():
            theta = starts.clone()
            state = stepper.init(theta)
            for _ in range(steps):
                theta, state = stepper.update(theta, RAVINE.grad(theta), state)

    return run


def torch_fused_adam_fn(runs: int, steps: int, autograd: bool):
    starts = torch.tensor([RAVINE.start]).repeat(runs, 1)

    def run():
        p = torch.nn.Parameter(starts.clone())
        opt = torch.optim.Adam([p], lr=1e-2, fused=True)
        for _ in range(steps):
            if autograd:
                opt.zero_grad()
                (0.5 * RAVINE.grad(p) * p).sum().backward()  # the sum of the losses, in its cheapest form
            else:
                with torch.no_grad():
                    p.grad = RAVINE.grad(p)
            opt.step()

    return run


def torch_per_run(runs: int, steps: int) -> float:
    def run():
        params = [torch.nn.Parameter(torch.tensor(RAVINE.start)) for _ in range(runs)]
        opts = [torch.optim.Adam([p], lr=float(lr)) for p, lr in zip(params, torch.logspace(-3, 0, runs))]
        for _ in range(steps):
            for p, o in zip(params, opts):
                p.grad = RAVINE.grad(p.detach()[None])[0]
                o.step()

    return median_time(run, repeats=1)


# ----- 3: the grand race --------------------------------------------------------------------------------------


def grand_race(landscape: str, optimizers: list[str]) -> float:
    return median_time(lambda: dc.race(landscape, optimizers, steps=500, device="cpu"), repeats=9)


def aten_ops_per_step(landscape: str, optimizers: list[str], steps: int = 100) -> float:
    """The PyTorch operations a race dispatches per step, counted below Python (views and copies included)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        ops = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            Count.ops += 1
            return func(*args, **(kwargs or {}))

    dc.race(landscape, optimizers, steps=1, device="cpu")
    with Count():
        dc.race(landscape, optimizers, steps=steps, device="cpu")
    one = Count.ops
    with Count():
        dc.race(landscape, optimizers, steps=2 * steps, device="cpu")
    return (Count.ops - 2 * one) / steps  # the difference leaves out the race's fixed set-up


def cheapest_op_us() -> float:
    """The time of the cheapest useful op on a (1, 2) tensor, a + b, on this machine in this run (microseconds)."""
    a, b = torch.randn(1, 2), torch.randn(1, 2)
    with torch.inference_mode():
        return median_time(lambda: [a + b for _ in range(10_000)], repeats=7) / 10_000 * 1e6


def torch_loop_race() -> tuple[float, int]:
    """The torch-backed optimizers stepped the usual way: one torch.optim object each, a Python loop."""
    surface = dc.LANDSCAPES["beale"]
    ids = [o for o, s in dc.OPTIMIZERS.items() if s.torch_class]
    sgd_names = ("lr", "momentum", "dampening", "weight_decay", "nesterov")

    def run():
        params, optimizers = [], []
        for opt in ids:
            spec = dc.OPTIMIZERS[opt]
            hp = {**dc.resolve_hparams(opt, surface.tuned.get(opt, {})), **spec.fixed}
            if spec.torch_class == "SGD":
                hp = {k: v for k, v in hp.items() if k in sgd_names}
            p = torch.nn.Parameter(torch.tensor([surface.start]) if opt == "muon" else torch.tensor(surface.start))
            params.append(p)
            optimizers.append(getattr(torch.optim, spec.torch_class)([p], **hp))
        for _ in range(500):
            for p, o in zip(params, optimizers):
                p.grad = surface.grad(p.detach().reshape(1, 2)).reshape(p.shape)
                o.step()

    return median_time(run, repeats=3), len(ids)


# ----- 5 and 6: memory, in fresh processes ---------------------------------------------------------------------

_MEASURE = """
import resource, sys, time, numpy as np, torch
sys.path.insert(0, {root!r})
import descent_core as dc


def high_water_kb():
    # The address space's own high-water mark. Not ru_maxrss: Linux carries that across fork and exec, so a child
    # of a big parent (this benchmark, after its sweeps) would report the parent's peak as its own.
    try:
        with open("/proc/self/status") as status:
            return next(float(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except OSError:
        return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


dc.race("ravine", ["adam"], steps=5)  # the baseline includes the engine's own warm state
base = high_water_kb()
start = time.perf_counter()
{body}
elapsed = time.perf_counter() - start
peak = high_water_kb()
print(elapsed, base, peak)
"""


def in_fresh_process(body: str) -> tuple[float, float, float]:
    """(seconds, baseline MB, peak MB) of ``body`` run in a new interpreter, from its high-water mark (VmHWM)."""
    out = subprocess.run([sys.executable, "-c", _MEASURE.format(root=str(ROOT), body=body)], capture_output=True,
                         text=True, check=True, timeout=1800).stdout.split()
    seconds, base_kb, peak_kb = (float(x) for x in out[-3:])
    return seconds, base_kb / 1024, peak_kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip the million-run sweep")
    parser.add_argument("--json", type=pathlib.Path, help="also write the results here")
    args = parser.parse_args()
    results: dict[str, float] = {}

    runs, steps = 4096, 500
    t_race, t_autograd, sweep_ratio = paired_times(sweep_race_fn(runs, steps),
                                                   torch_fused_adam_fn(runs, steps, autograd=True))
    t_final, t_closed, final_ratio = paired_times(sweep_race_fn(runs, steps, record="final"),
                                                  torch_fused_adam_fn(runs, steps, autograd=False))
    b_race, b_autograd, sweep_ratio_blocked = blocked_times(sweep_race_fn(runs, steps),
                                                            torch_fused_adam_fn(runs, steps, autograd=True))
    b_final, b_closed, final_ratio_blocked = blocked_times(sweep_race_fn(runs, steps, record="final"),
                                                           torch_fused_adam_fn(runs, steps, autograd=False))
    results.update(sweep_ratio_blocked=sweep_ratio_blocked, sweep_final_ratio_blocked=final_ratio_blocked)
    s_alone, s_closed, alone_ratio = paired_times(stepper_alone_fn(runs, steps),
                                                  torch_fused_adam_fn(runs, steps, autograd=False))
    results.update(stepper_alone_ms=s_alone * 1e3, stepper_alone_ratio_vs_closed_form=alone_ratio)
    t_per_run = torch_per_run(64, steps) * runs / 64
    results.update(sweep_race_ms=t_race * 1e3, torch_fused_autograd_ms=t_autograd * 1e3,
                   sweep_ratio_vs_autograd=sweep_ratio, sweep_final_ms=t_final * 1e3,
                   torch_fused_closed_form_ms=t_closed * 1e3, sweep_final_ratio_vs_closed_form=final_ratio,
                   speedup_vs_one_adam_per_run=t_per_run / t_race)
    print(f"1. Adam sweep B={runs} x {steps} through race(): {t_race * 1e3:.1f} ms; torch.optim.Adam(fused) + "
          f"autograd on one ({runs}, 2) tensor: {t_autograd * 1e3:.1f} ms -> {t_race / t_autograd:.2f}x (target <= 0.6)")
    print(f"2. final-point recording: {t_final * 1e3:.1f} ms; fused torch Adam with the closed-form gradient: "
          f"{t_closed * 1e3:.1f} ms -> {final_ratio:.2f}x (target <= 1.1); one torch Adam per run "
          f"(64 timed, scaled): {t_per_run:.1f} s -> {t_per_run / t_race:.0f}x slower than the race")

    print(f"   in blocks of 5 runs each (see blocked_times): every step {b_race * 1e3:.1f} ms against "
          f"{b_autograd * 1e3:.1f} ms -> {sweep_ratio_blocked:.2f}x; final point {b_final * 1e3:.1f} ms against "
          f"{b_closed * 1e3:.1f} ms -> {final_ratio_blocked:.2f}x")
    print(f"   the stepper alone (gradient + Adam, nothing recorded or checked): {s_alone * 1e3:.1f} ms against "
          f"{s_closed * 1e3:.1f} ms -> {alone_ratio:.2f}x: the rest of the final-point race is its exact losses and "
          "divergence checks")
    for landscape in ("beale", "ravine"):
        t18, t26 = grand_race(landscape, FIRST_18), grand_race(landscape, list(dc.OPTIMIZERS))
        results[f"grand_race_{landscape}_18_ms"], results[f"grand_race_{landscape}_all_ms"] = t18 * 1e3, t26 * 1e3
        print(f"3. grand race on {landscape}, 500 steps: the first 18 rules {t18 * 1e3:.1f} ms (target <= 70), all "
              f"{len(dc.OPTIMIZERS)} {t26 * 1e3:.1f} ms (target <= 100)")
    op_us = cheapest_op_us()
    for label, ids in (("18", FIRST_18), ("all", list(dc.OPTIMIZERS))):
        ops = aten_ops_per_step("beale", ids)
        results[f"grand_race_beale_{label}_ops_per_step"] = ops
        results[f"grand_race_beale_{label}_floor_ms"] = ops * op_us * 500 / 1e3
        print(f"   {label} rules on Beale: {ops:.0f} aten ops per step; at {op_us:.2f} us for a + b on (1, 2) tensors, "
              f"500 steps of these ops alone take {ops * op_us * 500 / 1e3:.0f} ms")
    results["cheapest_op_us"] = op_us
    t_loop, n_torch = torch_loop_race()
    results["torch_loop_ms"] = t_loop * 1e3
    print(f"   torch.optim loop over the {n_torch} torch-backed rules on Beale: {t_loop * 1e3:.1f} ms")

    t_fair = median_time(lambda: tune_fairly("rosenbrock", list(dc.OPTIMIZERS), steps=300, points=16), repeats=5)
    results["fair_tuning_ms"] = t_fair * 1e3
    print(f"4. fair mode: {len(dc.OPTIMIZERS)} optimizers x 16 learning rates x 300 steps: {t_fair * 1e3:.0f} ms "
          "(target < 1000)")

    cap_runs = dc.MAX_POINTS // 501
    seconds, base, peak = in_fresh_process(
        f"r = dc.race('ravine', ['adam'], steps=500, hparams={{'adam': {{'lr': np.geomspace(1e-3, 1, {cap_runs})}}}},"
        " device='cpu')")
    results.update(cap_race_s=seconds, cap_race_peak_above_baseline_mb=peak - base)
    print(f"5. race at the 20M-point cap ({cap_runs:,} runs x 501 points): {seconds:.1f} s, peak memory "
          f"{peak - base:.0f} MB above the process's {base:.0f} MB baseline (target <= 512)")

    if not args.quick:
        seconds, base, peak = in_fresh_process(
            "r = dc.race('ravine', ['adam'], steps=500, hparams={'adam': {'lr': np.geomspace(1e-4, 3, 1_000_000)}},"
            " record='final', device='cpu')")
        results.update(million_runs_s=seconds, million_runs_peak_above_baseline_mb=peak - base)
        print(f"6. 1,000,000 runs x 500 steps, final-point recording, CPU: {seconds:.1f} s, peak memory "
              f"{peak - base:.0f} MB above baseline")
    if torch.cuda.is_available():
        t_cuda = sweep_race(1_000_000, 500, record="final", device="cuda")
        results["cuda_particle_steps_per_s"] = 1_000_000 * 500 / t_cuda
        print(f"7. CUDA ({torch.cuda.get_device_name()}): 1,000,000 runs x 500 steps: {t_cuda:.2f} s -> "
              f"{1_000_000 * 500 / t_cuda:.3e} particle-steps/s")
    rounded = {k: round(v, 3) for k, v in results.items()}
    print(json.dumps(rounded))
    if args.json:
        args.json.write_text(json.dumps(rounded, indent=1))


if __name__ == "__main__":
    main()
