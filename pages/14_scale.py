from descent_ui.navigation import inside_app_frame

inside_app_frame()
from descent_ui.section import render_section

render_section("scale")
