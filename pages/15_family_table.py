from descent_ui.navigation import inside_app_frame

inside_app_frame()
from descent_ui.family import render_family_table

render_family_table()
