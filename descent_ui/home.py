"""The landing page: what Descent is and where to start."""

from __future__ import annotations

import streamlit as st

from descent_core import content

from .figures import render_figure
from .links import QUIZ, target, title_of


def render_home() -> None:
    st.title("Descent")
    st.markdown("#### An interactive field guide to gradient descent, from the ravine to Muon")
    st.markdown(
        "Every optimizer here runs live: the races on each page are computed by `descent_core`, a batched PyTorch "
        "engine whose update rules are tested against `torch.optim` (or the paper, where torch has none). "
        "Play, pause, step and re-tune every figure, or click its map to start the race somewhere else; every "
        "claim a caption makes is checked on the race it draws, and every hyperparameter a race used is shown "
        "under it. "
        "When you are done, the interview quiz turns the guide into timed practice with spaced repetition."
    )
    left, middle, right = st.columns(3)
    with left:
        st.markdown("**New to optimizers?**")
        st.page_link(target("problem"), label="Start with the problem", icon=":material/landscape:")
    with middle:
        st.markdown("**Want the big picture?**")
        st.page_link(target("grand-race"), label="Watch the grand race", icon=":material/flag:")
    with right:
        st.markdown("**Interview soon?**")
        st.page_link(target(QUIZ), label="Take the timed quiz", icon=":material/quiz:")
    render_figure("home_race", key_prefix="home.")
    st.divider()
    st.subheader("The route")
    for group in content.GROUPS:
        sections = [s for s in content.sections().values() if s.group == group]
        if not sections:
            continue
        st.markdown(f"**{group}**")
        for s in sections:
            # The link is the title alone (a link label does not wrap); the summary wraps beneath it.
            st.page_link(target(s), label=title_of(s))
            st.caption(s.summary)
    with st.expander("Notation used everywhere (prose, code and flashcards)"):
        st.markdown(content.notation())
