"""A guide section page: its Markdown, callouts, live figures and labs, the code that ran, and its references."""

from __future__ import annotations

import inspect

import streamlit as st

import descent_core as dc
from descent_core import content

from .figures import render_figure
from .links import QUIZ, short_title, target, title_of

CALLOUTS = {
    "MODEL": (st.info, ":material/psychology:", "Mental model"),
    "TRAP": (st.warning, ":material/warning:", "Interview trap"),
    "TRADEOFF": (st.success, ":material/balance:", "Trade-off"),
    "RUN": (st.info, ":material/play_circle:", "Run it"),
    "NOTE": (st.info, ":material/info:", "Note"),
}


def render_callout(kind: str, title: str, text: str) -> None:
    show, icon, default_title = CALLOUTS.get(kind, CALLOUTS["NOTE"])
    show(f"**{title or default_title}**\n\n{text}", icon=icon)


def render_lab_block(lab_id: str) -> None:
    from .labs import render_lab  # imported lazily: the labs module pulls in its own heavier pieces

    render_lab(lab_id, key_prefix="section.")


def render_body(section: content.Section) -> None:
    for block in section.blocks:
        if block.kind == "markdown":
            st.markdown(block.text)
        elif block.kind == "callout":
            render_callout(block.name, block.title, block.text)
        elif block.kind == "figure":
            render_figure(block.name, key_prefix=f"{section.id}.")
        elif block.kind == "lab":
            render_lab_block(block.name)
        elif block.kind == "view":
            from .views import render_view  # imported lazily, like the labs

            render_view(block.name, key_prefix=f"{section.id}.")


def render_code(section: content.Section) -> None:
    """Show the update rules that produced this page's figures: the code is the same that ran."""
    ids = [opt for opt in section.optimizers if opt in dc.OPTIMIZERS]
    if not ids:
        return
    with st.expander("The code behind these optimizers (the exact functions the races run)"):
        seen = set()
        for opt in ids:
            rule = dc.OPTIMIZERS[opt].rule
            if rule.__name__ in seen:
                continue
            seen.add(rule.__name__)
            st.markdown(f"**{dc.OPTIMIZERS[opt].name}** · `{rule.__module__}.{rule.__name__}`")
            st.code(inspect.getsource(rule), language="python")
        st.caption("Each piece (ema, trace, debias, scale_by_…) lives in `descent_core/transforms/`; "
                   "every torch-backed rule is tested against `torch.optim` in float64.")


def render_references(section: content.Section) -> None:
    """The section's references, each entry as the bibliography writes it (arXiv ids and addresses are links)."""
    if not section.references:
        return
    entries = content.bibliography()
    with st.expander(f"References ({len(section.references)})"):
        st.markdown("\n".join(f"- {entries.get(key, key)}" for key in section.references))


def quiz_topics() -> frozenset[str]:
    """Section ids the quiz has cards for (the quiz's own answer; computed once per process)."""
    from descent_core import quiz

    return quiz.topics_with_cards()


def render_neighbours(section: content.Section) -> None:
    """The footer: the previous and next sections by their short titles (which fit a column without being cut),
    and the quiz filtered to this section's cards, shown only when there are any."""
    ordered = list(content.sections().values())
    index = [s.id for s in ordered].index(section.id)
    left, middle, right = st.columns(3)
    if index > 0:
        previous = ordered[index - 1]
        left.page_link(target(previous), label=f"← {short_title(previous)}", help=title_of(previous))
    if section.id in quiz_topics():
        middle.page_link(target(QUIZ), label=f"Practise {short_title(section)} in the quiz", icon=":material/quiz:",
                         query_params={"topic": section.id})
    if index + 1 < len(ordered):
        following = ordered[index + 1]
        right.page_link(target(following), label=f"{short_title(following)} →", help=title_of(following))


def render_section(section_id: str) -> None:
    section = content.section(section_id)
    st.title(title_of(section))
    st.caption(section.summary)
    render_body(section)
    render_code(section)
    render_references(section)
    st.divider()
    render_neighbours(section)
