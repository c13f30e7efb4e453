from descent_ui.navigation import inside_app_frame

inside_app_frame()
from descent_ui.home import render_home

render_home()
