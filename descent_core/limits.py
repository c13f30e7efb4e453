"""The size limits of a request, in one place: every entry point checks against these before any work starts."""

MAX_STEPS = 20_000  # steps of one race, schedule or lab
MAX_POINTS = 20_000_000  # optimizers x runs x recorded points of one race
MAX_PARTICLES = 4_000_000  # optimizers x runs stepped at once (a million-run sweep fits)
MAX_NOISE = 1e3  # standard deviation of the gradient noise a race may add
