"""Every number the guide or a card quotes is measured: each {{q:id=value}} marker names a quantity that
descent_core.quantities measures, and the quote must state that measurement to the precision it is written with."""

from __future__ import annotations

import pathlib

import pytest

from descent_core import content
from descent_core.quantities import QUANTITIES, agrees, parse_quoted

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "content").glob("*.md")) + sorted((ROOT / "content" / "decks").glob("*.yaml"))
QUOTES = [(path.relative_to(ROOT).as_posix(), qid, value) for path in SOURCES
          for qid, value in content.quotes(path.read_text(encoding="utf-8"))]


def test_the_guide_quotes_measured_numbers():
    assert len(QUOTES) >= 10


@pytest.mark.parametrize("where, qid, quoted", QUOTES, ids=[f"{w}:{q}={v}" for w, q, v in QUOTES])
def test_each_quote_states_its_measurement(where, qid, quoted):
    assert qid in QUANTITIES, f"{where} quotes {qid!r}, which nothing measures"
    ok, measured = agrees(qid, quoted)
    assert ok, f"{where} says {qid} = {quoted}; the code measures {measured:.6g}"


def test_every_measured_quantity_is_quoted_somewhere():
    quoted = {qid for _, qid, _ in QUOTES}
    assert set(QUANTITIES) <= quoted, f"measured but never quoted: {sorted(set(QUANTITIES) - quoted)}"


def test_a_changed_quote_or_a_changed_measurement_fails():
    assert agrees("gd_best_rate", "0.980198")[0]
    assert not agrees("gd_best_rate", "0.980199")[0]  # the text alone changed
    assert not agrees("heavy_ball_rate", "0.820")[0]
    assert parse_quoted("2\\times10^{-9}") == pytest.approx((2e-9, 5e-10))
    assert parse_quoted("690") == (690.0, 0.5)


def test_readers_see_numbers_not_markers():
    for section in content.sections().values():
        assert "{{q:" not in section.body
        for block in section.blocks:
            assert "{{q:" not in block.text
