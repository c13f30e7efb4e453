"""descent_core speed, as ratios against baselines measured in the same process (these machines are noisy).

    python bench/bench_core.py            # CPU figures; on a CUDA machine also particle-steps per second

1. The grand race: all 18 optimizers, one start, 500 steps, float32: median wall time (target < 150 ms), and the
   same race done the torch way (one torch.optim optimizer per optimizer, stepped in a Python loop) for scale.
2. A sweep: Adam, B = 4096 runs, 500 steps, a per-run learning rate: against torch.optim.Adam stepping one
   (4096, 2) tensor with one shared lr (target ratio <= 1.5), and against one torch.optim.Adam per run
   (target: >= 100x faster; that baseline is timed on a subset of runs and scaled).
3. On CUDA: particle-steps per second for B = 1,000,000 (Adam on the ravine).
"""

from __future__ import annotations

import json
import pathlib
import statistics
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import descent_core as dc  # noqa: E402

SURFACE = dc.LANDSCAPES["ravine"]


def median_time(fn, repeats: int) -> float:
    fn()  # warm
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def grand_race(landscape: str) -> float:
    return median_time(lambda: dc.race(landscape, list(dc.OPTIMIZERS), steps=500), repeats=9)


def torch_loop_race() -> float:
    """The same 13 torch-backed optimizers stepped the usual way: one optimizer object each."""
    surface = dc.LANDSCAPES["beale"]
    ids = [o for o, s in dc.OPTIMIZERS.items() if s.torch_class]

    def run():
        params, optimizers = [], []
        for opt in ids:
            hp = dc.resolve_hparams(opt, surface.tuned.get(opt, {}))
            p = torch.nn.Parameter(torch.tensor([surface.start]) if opt == "muon" else torch.tensor(surface.start))
            kwargs = {k: v for k, v in hp.items()}
            if dc.OPTIMIZERS[opt].torch_class == "SGD":
                kwargs = {k: v for k, v in kwargs.items() if k in ("lr", "momentum", "dampening", "weight_decay", "nesterov")}
            if opt == "amsgrad":
                kwargs["amsgrad"] = True
            params.append(p)
            optimizers.append(getattr(torch.optim, dc.OPTIMIZERS[opt].torch_class)([p], **kwargs))
        for _ in range(500):
            for p, o in zip(params, optimizers):
                p.grad = surface.grad(p.detach().reshape(1, 2)).reshape(p.shape)
                o.step()

    return median_time(run, repeats=3), len(ids)


def sweep_ours(runs: int, steps: int, device="cpu") -> float:
    lrs = torch.logspace(-3, 0, runs)
    starts = torch.tensor([SURFACE.start], device=device).repeat(runs, 1)

    def run():
        stepper = dc.make_stepper("adam", lr=lrs)
        theta = starts.clone()
        state = stepper.init(theta)
        with torch.inference_mode():
            for _ in range(steps):
                theta, state = stepper.update(theta, SURFACE.grad(theta), state)
        if device != "cpu":
            torch.cuda.synchronize()

    return median_time(run, repeats=5)


def sweep_torch_shared_lr(runs: int, steps: int) -> float:
    starts = torch.tensor([SURFACE.start]).repeat(runs, 1)

    def run():
        p = torch.nn.Parameter(starts.clone())
        opt = torch.optim.Adam([p], lr=1e-2)
        for _ in range(steps):
            p.grad = SURFACE.grad(p.detach())
            opt.step()

    return median_time(run, repeats=5)


def sweep_torch_per_run(runs: int, steps: int) -> float:
    def run():
        params = [torch.nn.Parameter(torch.tensor(SURFACE.start)) for _ in range(runs)]
        opts = [torch.optim.Adam([p], lr=float(lr)) for p, lr in zip(params, torch.logspace(-3, 0, runs))]
        for _ in range(steps):
            for p, o in zip(params, opts):
                p.grad = SURFACE.grad(p.detach()[None])[0]
                o.step()

    return median_time(run, repeats=1)


def main() -> None:
    torch.set_num_threads(1)  # tiny tensors: threads only add overhead, and results are steadier
    results = {}
    t_race = grand_race("beale")
    t_ravine = grand_race("ravine")
    t_loop, n_torch = torch_loop_race()
    results["grand_race_beale_ms"] = round(t_race * 1e3, 1)
    results["grand_race_ravine_ms"] = round(t_ravine * 1e3, 1)
    results["torch_loop_13_optimizers_ms"] = round(t_loop * 1e3, 1)
    print(f"grand race, 18 optimizers x 500 steps (float32, CPU): Beale {t_race * 1e3:.1f} ms, ravine "
          f"{t_ravine * 1e3:.1f} ms median (target < 150 ms); torch.optim loop over the {n_torch} torch-backed "
          f"ones on Beale: {t_loop * 1e3:.1f} ms -> {t_loop / t_race:.2f}x")

    runs, steps = 4096, 500
    t_ours = sweep_ours(runs, steps)
    t_shared = sweep_torch_shared_lr(runs, steps)
    subset = 64
    t_per_run = sweep_torch_per_run(subset, steps) * runs / subset
    results.update(sweep_ours_ms=round(t_ours * 1e3, 1), sweep_torch_shared_ms=round(t_shared * 1e3, 1),
                   sweep_torch_per_run_ms_scaled=round(t_per_run * 1e3, 1),
                   ratio_vs_shared=round(t_ours / t_shared, 3), speedup_vs_per_run=round(t_per_run / t_ours, 1))
    print(f"Adam sweep, B={runs} per-run lrs x {steps} steps: {t_ours * 1e3:.1f} ms; torch.optim.Adam on one "
          f"({runs}, 2) tensor, shared lr: {t_shared * 1e3:.1f} ms -> ratio {t_ours / t_shared:.2f} (target <= 1.5)")
    print(f"  one torch.optim.Adam per run (timed on {subset} runs, scaled to {runs}): {t_per_run:.1f} s -> "
          f"descent_core is {t_per_run / t_ours:.0f}x faster (target >= 100x)")

    if torch.cuda.is_available():
        big = 1_000_000
        cuda_steps = 500
        t_cuda = sweep_ours(big, cuda_steps, device="cuda")
        results["cuda_particle_steps_per_s"] = big * cuda_steps / t_cuda
        print(f"CUDA ({torch.cuda.get_device_name()}): Adam, B={big:,}, {cuda_steps} steps: {t_cuda:.3f} s -> "
              f"{big * cuda_steps / t_cuda:.3e} particle-steps/s")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
