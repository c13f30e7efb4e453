"""The numbers of the Practice part's schedules section (13) that its warmup and clipping labs measure (the newer
schedules, one cycle, WSD and the plateau rule, are measured in ``scale``)."""

from __future__ import annotations

from . import quantity
from .basics import lab_run


@quantity("warmup: Adam's first 10 steps over its late steps (mean lengths), constant rate")
def warmup_lab_ratio_constant() -> float:
    return lab_run("warmup")["ratio_no_warmup"]


@quantity("warmup: the same ratio with a 50-step linear warmup")
def warmup_lab_ratio_warmup() -> float:
    return lab_run("warmup")["ratio_warmup"]


@quantity("clipping_scaling: the fraction of steps clipped at c = 5, in percent")
def clipping_lab_fired_percent() -> float:
    return 100.0 * lab_run("clipping_scaling")["clipped_fraction"]
