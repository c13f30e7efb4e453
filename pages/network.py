# A real network race: every optimizer trains the same small MLP.
from descent_ui.navigation import inside_app_frame

inside_app_frame()

from descent_ui.network_race import render

render()
