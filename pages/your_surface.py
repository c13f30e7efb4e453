"""Your own surface: type f(x, y) and race the optimizers on it."""

from descent_ui.your_surface import render

render()
