# Look inside an optimizer: step through a run and see its gradient, buffers, trust ratio and preconditioner.
from descent_ui.navigation import inside_app_frame

inside_app_frame()

from descent_ui.inside import render_inside_page

render_inside_page()
