# Your progress: reviews per day, accuracy, cards due soon, retention; export and import.
from descent_ui.navigation import inside_app_frame

inside_app_frame()
from descent_ui.progress import render

render()
