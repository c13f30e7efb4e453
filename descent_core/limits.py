"""The size limits of a request, in one place: every entry point checks against these before any work starts."""

MAX_STEPS = 20_000  # steps of one race, schedule or lab
MAX_POINTS = 20_000_000  # optimizers x runs x recorded points of one race
MAX_NOISE = 1e3  # standard deviation of the gradient noise a race may add
