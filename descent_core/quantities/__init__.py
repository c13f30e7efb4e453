"""Every number the guide quotes, measured by the code that the guide describes.

The prose and the cards quote a number with a marker, ``{{q:gd_best_rate=0.980198}}``, which the reader sees as
``0.980198``. Each marker names a quantity registered here; ``tests/test_quantities.py`` measures every quantity
and checks each quote against it, to the precision the quote is written with (or the tolerance given below). So
changing the text alone, or the code alone, breaks a test, and no number can be quoted without a measurement.

    from descent_core.quantities import QUANTITIES
    QUANTITIES["gd_best_rate"].measure()      # 0.98019801...

The measurements live in one module per part of the guide (``foundations``, ...), each registering with
``@quantity``; this module imports them all, so the registry is complete once it is imported.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Quantity:
    id: str
    measure: Callable[[], float]
    tolerance: float | None = None  # absolute; None: agree to the precision of the quote
    what: str = ""


QUANTITIES: dict[str, Quantity] = {}


def quantity(what: str, tolerance: float | None = None):
    """Register the function below as the measurement of the quantity named after it (cached: measured once)."""

    def register(fn: Callable[[], float]) -> Callable[[], float]:
        measured = functools.lru_cache(maxsize=1)(lambda: float(fn()))
        QUANTITIES[fn.__name__] = Quantity(fn.__name__, measured, tolerance, what)
        return fn

    return register


def parse_quoted(text: str) -> tuple[float, float]:
    """A quoted number and the half-unit of its last written digit: "0.0331" -> (0.0331, 5e-5);
    "2\\times10^{-9}" -> (2e-9, 5e-10)."""
    text = text.strip().replace(" ", "")
    if "\\times10^" in text:
        mantissa, exponent = text.split("\\times10^")
        exponent = int(exponent.strip("{}"))
        value, half = parse_quoted(mantissa)
        return value * 10.0**exponent, half * 10.0**exponent
    value = float(text.replace(",", ""))
    decimals = len(text.split(".")[1]) if "." in text else 0
    return value, 0.5 * 10.0**-decimals


def agrees(quantity_id: str, quoted: str) -> tuple[bool, float]:
    """Whether ``quoted`` states the measured value of ``quantity_id``; returns the measured value too."""
    q = QUANTITIES[quantity_id]
    measured = q.measure()
    value, half_unit = parse_quoted(quoted)
    allowed = q.tolerance if q.tolerance is not None else half_unit * (1 + 1e-9)
    return math.isfinite(measured) and abs(measured - value) <= allowed, measured


from . import foundations  # noqa: E402,F401  (registers its quantities)
from . import scale  # noqa: E402,F401  (schedules, training at scale, sharpness)
from . import basics  # noqa: E402,F401  (Foundations beyond the worked example: 00, the edge box of 01, 02)
from . import momentum  # noqa: E402,F401  (03 and 04 beyond Polyak's optimum)
from . import adaptive  # noqa: E402,F401  (05-07)
from . import adam_family  # noqa: E402,F401  (08-11)
from . import frontier  # noqa: E402,F401  (12)
from . import practice  # noqa: E402,F401  (13's warmup and clipping labs)
