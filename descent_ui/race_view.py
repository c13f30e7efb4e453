"""Show a race: the claim it demonstrates with each checked property's live verdict, the animated chart, the
race's settings, and one results table (rank, optimizer, final loss, when it settled, whether it diverged, and the
settings it ran with) in the order of ``descent_core.claims.ranking``."""

from __future__ import annotations

import json
import math
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd
import streamlit as st

import descent_core as dc
from descent_core import claims

from .race_chart import SPEEDS, player_data, series_of, show_player
from .state import sidebar_speed

TOLERANCE = claims.TOLERANCE
SPEED_KEY = "player.speed"  # the speed every player on every page shares (a reader's last choice)
SIDEBAR_SEEN = "player.sidebar_seen"
HIDDEN_HPARAMS = ("ns_coefficients",)


def settled_column(race: dc.Race) -> str | None:
    if claims.unbounded_below(race.landscape):
        return f"escapes (loss < {claims.escape_level(race.landscape):g}) at step"
    if race.landscape.minima:
        return f"settles within {TOLERANCE:g} at step"
    return None


def results_table(race: dc.Race) -> pd.DataFrame:
    """One row per drawn trajectory, best first, with the settings it ran with (everything as text, so a table shows
    it exactly as written)."""
    labels = {(s.index, s.run): s.label for s in series_of(race)}
    column = settled_column(race)
    rows = []
    for standing in claims.ranking(race, TOLERANCE):
        i = race.optimizers.index(standing.optimizer)
        row = {"rank": str(standing.rank), "optimizer": labels[(i, standing.run)],
               "final loss": _number(standing.final_loss)}
        if column:
            when = standing.escaped_at if claims.unbounded_below(race.landscape) else standing.settled_at
            row[column] = str(int(when)) if math.isfinite(when) else "—"
        row["diverged"] = f"yes, at step {int(standing.diverged_at)}" if math.isfinite(standing.diverged_at) else "no"
        row["settings"] = settings_text(race, standing.optimizer, standing.run)
        rows.append(row)
    return pd.DataFrame(rows)


def _number(value: float) -> str:
    if not math.isfinite(value):
        return "not finite"
    return f"{value:.4g}"


def settings_text(race: dc.Race, opt: str, run: int = 0) -> str:
    shown = []
    for name, value in race.hparams[opt].items():
        if name in HIDDEN_HPARAMS:
            continue
        if isinstance(value, list):
            value = value[run]
        if value is None:
            continue  # an option left unset: the rule's own default applies
        shown.append(f"{name}={_plain(value)}")
    return ", ".join(shown)


def table_note(race: dc.Race) -> str:
    if claims.unbounded_below(race.landscape):
        return (f"The loss of {race.landscape.name.lower()} decreases without limit (it has no minimum), so a lower "
                "final loss only means a run went further downhill. Runs are ranked by the step at which they escaped "
                f"(loss first below {claims.escape_level(race.landscape):g}), then by final loss; — means never.")
    if race.landscape.minima:
        return (f"Ranked by when a run settled (its loss stays within {TOLERANCE:g} of the minimum from that step to "
                "the end), then by final loss; diverged runs last. — means it is not within the tolerance at the end.")
    return "This surface has no known minimum: runs are ranked by final loss, diverged runs last."


def race_settings_line(race: dc.Race) -> str:
    parts = [f"surface **{race.landscape.name}**", f"{race.steps} steps",
             f"start ({race.starts[0, 0]:.3g}, {race.starts[0, 1]:.3g})"]
    if race.noise:
        parts.append(f"gradient noise σ = {race.noise:g} (seed {race.seed})")
    if race.schedule is not None and race.schedule.kind != "constant":
        parts.append(f"schedule: {race.schedule.describe()}")
    if race.clip is not None:
        parts.append(f"clip ‖g‖ ≤ {race.clip:g}")
    if any(dc.OPTIMIZERS[o].evaluation_slot for o in race.optimizers):
        parts.append("schedule-free rules are drawn at their averaged point x")
    return " · ".join(parts)


def _plain(value: Any) -> str:
    if value is None:
        return "auto"  # e.g. Adafactor's eps = (None, 1e-3): the first is chosen from the dtype
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_plain(v) for v in value) + ")"
    return str(value)


def verdict_rows(verdicts: Iterable[claims.Verdict]) -> list[dict[str, Any]]:
    return [{"name": v.name, "text": v.text, "measured": v.measured(), "expected": v.expected(), "holds": v.holds}
            for v in verdicts]


def payload(race: dc.Race, *, show_loss: bool, checks: Iterable[claims.Check] = ()) -> dict[str, Any]:
    """Everything the view needs, as picklable data (so pages can st.cache_data it)."""
    verdicts = claims.evaluate(checks, race)
    return {
        "player": player_data(race, show_loss=show_loss),
        "results": results_table(race).set_index("rank"),
        "note": table_note(race),
        "settings": race_settings_line(race),
        "verdicts": verdict_rows(verdicts),
        "claim_holds": claims.all_hold(verdicts) if verdicts else None,
        "diverged": sorted({dc.OPTIMIZERS[race.optimizers[i]].name for i, _ in zip(*np.nonzero(race.diverged_at >= 0))}),
    }


# --------------------------------------------------------------------------------------------------------------
# Speed: one choice shared by every player, from the URL (?speed=2), the sidebar, or the last player touched.


def parse_speed(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except (TypeError, ValueError):
        return None
    return value if value in SPEEDS else None


def current_speed() -> float:
    """The playback speed: the reader's last pick in any player; the URL's ``speed`` on a first visit; a change of
    the sidebar's "Animation speed" overrides both."""
    side = sidebar_speed()
    state = st.session_state
    if SPEED_KEY not in state:
        state[SPEED_KEY] = parse_speed(st.query_params.get("speed")) or side
        state[SIDEBAR_SEEN] = side
    elif state.get(SIDEBAR_SEEN) != side:
        state[SIDEBAR_SEEN] = side
        state[SPEED_KEY] = side
    return float(state[SPEED_KEY])


def _speed_changed(key: str) -> Callable[[], None]:
    def changed() -> None:
        value = parse_speed(str((st.session_state.get(key) or {}).get("speed")))
        if value is not None:
            st.session_state[SPEED_KEY] = value
    return changed


def clicked_start(key: str) -> tuple[float, float] | None:
    """The point the reader clicked on the map of player ``key`` (inside that player's ``on_start`` callback)."""
    value = (st.session_state.get(key) or {}).get("start")
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return None
    try:
        x, y = float(value[0]), float(value[1])
    except (TypeError, ValueError):
        return None
    return (x, y) if math.isfinite(x) and math.isfinite(y) else None


# --------------------------------------------------------------------------------------------------------------
# Rendering.


def show_claim(claim: str, view: dict[str, Any]) -> None:
    """The claim, and under it each checked property with its verdict on the race drawn below."""
    st.markdown(f"**Claim.** {claim}")
    rows = view.get("verdicts") or []
    if not rows:
        return
    lines = []
    for row in rows:
        if row["holds"] is None:
            mark, tail = ":gray[–]", "not in this race"
        elif row["holds"]:
            mark, tail = ":green[**✓**]", f"{row['measured']} (claimed {row['expected']})"
        else:
            mark, tail = ":orange[**✗**]", f"{row['measured']}, but the claim needs {row['expected']}"
        lines.append(f"- {mark} *{row['name']}* — {_escape(row['text'])}: {_escape(tail)}")
    st.markdown("\n".join(lines))
    if view.get("claim_holds") is False:
        st.warning("With these settings part of the claim does not hold (✗ above): the chart shows something else "
                   "now. Reset the knobs to see the claim again.", icon=":material/rule:")


def _escape(text: str) -> str:
    return text.replace("$", r"\$").replace("*", r"\*").replace("_", r"\_")


def show(view: dict[str, Any], *, claim: str, key: str, on_start: Callable[[], None] | None = None,
         on_speed: Callable[[], None] | None = None) -> None:
    """Render a payload: claim and verdicts, chart, disclosed settings and the results table."""
    show_claim(claim, view)
    show_player(view["player"], key=key, speed=current_speed(), label=f"Animated race. {claim}",
                clickable=on_start is not None, on_start=on_start, on_speed=on_speed or _speed_changed(key))
    if view["diverged"]:
        st.warning(f"Diverged (marked ✕ where it left): {', '.join(view['diverged'])}. "
                   "Its trail stops at its last finite point.", icon=":material/warning:")
    st.caption(view["settings"])
    st.table(view["results"])
    st.caption(view["note"])


def settings_key(settings: dict) -> str:
    return json.dumps(settings, sort_keys=True, default=str)
