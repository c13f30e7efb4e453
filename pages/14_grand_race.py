from descent_ui.navigation import inside_app_frame

inside_app_frame()
from descent_ui.grand_race import render_grand_race

render_grand_race()
