# Your own surface: type f(x, y) and race the optimizers on it.
from descent_ui.navigation import inside_app_frame

inside_app_frame()

from descent_ui.your_surface import render

render()
