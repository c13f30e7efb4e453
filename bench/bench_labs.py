"""How long each live lab takes with its default settings (a lab re-runs whenever a reader changes a knob).

    python bench/bench_labs.py

Prints each lab's median of 5 warm runs, in the guide's order with the part module that holds it, and the total
for all of them.
"""

from __future__ import annotations

import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from descent_core.labs import LABS  # noqa: E402


def main() -> None:
    total = 0.0
    for lab_id, lab in LABS.items():
        lab.run()  # warm: imports and the allocator
        samples = []
        for _ in range(5):
            start = time.perf_counter()
            lab.run()
            samples.append(time.perf_counter() - start)
        median = statistics.median(samples)
        total += median
        part = lab.experiment.__module__.rsplit(".", 1)[-1]
        print(f"{lab_id:24s} {part:12s} {median * 1e3:8.1f} ms")
    print(f"{'all labs':37s} {total * 1e3:8.1f} ms (target: each well under a second)")


if __name__ == "__main__":
    main()
