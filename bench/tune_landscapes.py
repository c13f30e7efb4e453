"""Pick each optimizer's learning rate on each built-in landscape, and write descent_core/tuned.py.

For every landscape, one batched race sweeps a log-spaced grid of learning rates for every optimizer (per-run lr
arrays); ``descent_core.tuning`` scores the runs and keeps a margin from divergence (see its docstring).

    python bench/tune_landscapes.py            # prints the table and rewrites descent_core/tuned.py
"""

from __future__ import annotations

import pathlib
import pprint
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import descent_core as dc  # noqa: E402
from descent_core.tuning import tune  # noqa: E402

STEPS = 300  # the grand race's default length
GRID = 49


def main() -> None:
    table = {landscape_id: tune(surface, steps=STEPS, points=GRID) for landscape_id, surface in dc.LANDSCAPES.items()}
    pprint.pprint(table, width=120)
    target = pathlib.Path(__file__).resolve().parents[1] / "descent_core" / "tuned.py"
    header = target.read_text().split("TUNED: ")[0]
    target.write_text(header + "TUNED: dict[str, dict[str, dict[str, float]]] = " + pprint.pformat(table, width=116) + "\n")


if __name__ == "__main__":
    main()
