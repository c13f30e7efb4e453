"""Descent: an interactive field guide to gradient descent. Run with `streamlit run app.py`."""

from descent_ui.navigation import run_app

run_app()
