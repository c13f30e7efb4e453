# Live labs: every quantitative claim of the guide, re-run as an experiment with a live pass/fail badge.
from descent_ui.navigation import inside_app_frame

inside_app_frame()

from descent_ui.labs import render_labs_page

render_labs_page()
