# Interview practice: timed flashcards with scoring, spaced repetition and saved progress.
from descent_ui.navigation import inside_app_frame

inside_app_frame()
from descent_ui.quiz import render

render()
