"""Two things Streamlit's own widgets cannot do, in one tiny component: tell the server when the page is hidden
(the quiz pauses the card's clock), and put the cursor in a typed answer's box. Keyboard shortcuts themselves are
the buttons' own ``shortcut=`` keys."""

from __future__ import annotations

import functools
from typing import Callable

# The component's script: it listens to the document (it renders nothing of its own), and focuses the input whose
# aria-label Streamlit gave the text box (its label) once per card.
JS = """
export default function ({ data, setTriggerValue }) {
  const state = (window.__descentQuizKeys = window.__descentQuizKeys || { focused: null, watching: false });
  state.send = setTriggerValue;
  if (!state.watching) {
    state.watching = true;
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden" && state.watch) state.send("hidden", Date.now());
    });
  }
  state.watch = Boolean(data && data.watch);
  if (data && data.focus && state.focused !== data.card) {
    const tryFocus = (left) => {
      const box = document.querySelector(`input[aria-label="${data.focus}"]`);
      if (box) { box.focus(); state.focused = data.card; } else if (left > 0) setTimeout(() => tryFocus(left - 1), 100);
    };
    tryFocus(30);
  }
}
"""


@functools.lru_cache(maxsize=1)
def _component():
    import streamlit as st

    return st.components.v2.component("descent.quiz_keys", html="<span></span>", js=JS)


def quiz_keys(*, card: str, watch: bool, focus: str | None, on_hidden: Callable[[], None]) -> None:
    """Mount the listener: `on_hidden` runs when the page is hidden while `watch`; `focus` is the label of the text
    box to put the cursor in when `card` is first shown."""
    _component()(key="quiz.keys", data={"card": card, "watch": bool(watch), "focus": focus},
                 on_hidden_change=on_hidden, width="content", height="content")
