"""Descent: an interactive field guide to gradient descent. Run with `streamlit run app.py`."""

import streamlit as st

from descent_ui.navigation import build_navigation
from descent_ui.state import sidebar_controls

st.set_page_config(page_title="Descent · a field guide to gradient descent", page_icon="⛰️", layout="wide")
page = build_navigation()
sidebar_controls()
page.run()
