"""Server time of a warm rerun of every page: the page is opened through app.py in AppTest, run once (cold: races,
labs and charts computed and cached), then rerun; the rerun is what a reader pays when a widget changes nothing
the page depends on, or when they come back to it (target <= 50 ms).

    python bench/bench_pages.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from descent_ui import links  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", help="a substring of the page files to time")
    args = parser.parse_args()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    rows = []
    for entry in links.pages():
        if args.only and args.only not in entry.path:
            continue
        at.switch_page(entry.path)
        start = time.perf_counter()
        at.run()
        cold = time.perf_counter() - start
        warm = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - start)
        problem = f"  EXCEPTION {at.exception[0].value[:60]}" if at.exception else ""
        rows.append((entry.path, cold, statistics.median(warm)))
        print(f"{entry.path:32s} first run {cold * 1e3:7.0f} ms   warm rerun {statistics.median(warm) * 1e3:6.0f} ms{problem}")
    worst = max(rows, key=lambda r: r[2])
    print(f"slowest warm rerun: {worst[0]} {worst[2] * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
