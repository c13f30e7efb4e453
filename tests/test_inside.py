"""Look inside an optimizer: the inspector's views agree with the update rules that produced them."""

import numpy as np
import pytest
import torch

import descent_core as dc
from descent_core import inside




def recorded(opt, landscape="beale", steps=30, **hp):
    return dc.race(landscape, [opt], steps=steps, hparams={opt: hp} if hp else None, record_state=True,
                   dtype=torch.float64)


def test_lamb_trust_ratio_reproduces_its_step():
    race = recorded("lamb", weight_decay=0.01)
    ratios = inside.trust_ratios(race, "lamb")
    hp = race.hparams["lamb"]
    b1, b2 = hp["betas"]
    for k in (1, 5, 30):
        view = inside.step_view(race, k)
        m_hat = view.slots["m"] / (1 - b1**k)
        v_hat = view.slots["v"] / (1 - b2**k)
        direction = m_hat / (np.sqrt(v_hat) + hp["eps"]) + hp["weight_decay"] * view.point
        np.testing.assert_allclose(view.update, -hp["lr"] * ratios[0, k - 1] * direction, rtol=1e-9)
        assert np.linalg.norm(view.update) == pytest.approx(hp["lr"] * np.linalg.norm(view.point), rel=1e-9)


def test_lars_trust_ratio_and_velocity():
    race = recorded("lars")
    ratios = inside.trust_ratios(race, "lars")
    view = inside.step_view(race, 1)
    hp = race.hparams["lars"]
    local = hp["trust_coefficient"] * ratios[0, 0]
    np.testing.assert_allclose(view.update, -hp["lr"] * local * view.grad, rtol=1e-9)
    np.testing.assert_allclose(view.slots["b"], view.update, rtol=1e-12)  # the velocity is the step


def test_shampoo_preconditioner_reproduces_its_step():
    race = recorded("shampoo")
    for k in (1, 10):
        view = inside.step_view(race, k)
        np.testing.assert_allclose(view.update, -view.lr * view.preconditioner @ view.grad, rtol=1e-7, atol=1e-12)


def test_momentum_arrow_and_update_drawn_to_scale():
    race = recorded("momentum", landscape="ravine", lr=0.01)
    view = inside.step_view(race, 7)
    np.testing.assert_allclose(view.update, -view.lr * view.slots["b"], rtol=1e-9)
    arrows = inside.arrows(view, span=10.0)
    made = arrows[arrows["arrow"] == "update made"].iloc[0]
    assert (made.x2 - made.x, made.y2 - made.y) == pytest.approx(tuple(view.update))
    buffer = arrows[arrows["arrow"].str.startswith("−b")].iloc[0]
    assert np.hypot(buffer.x2 - buffer.x, buffer.y2 - buffer.y) == pytest.approx(1.6)


@pytest.mark.parametrize("opt", list(dc.OPTIMIZERS))
def test_every_optimizer_has_a_view_and_a_table(opt):
    race = recorded(opt, steps=12)
    view = inside.step_view(race, 12)
    table = inside.state_table(view)
    assert {"θ before the step", "gradient g", "update made Δθ"} <= set(table["quantity"])
    assert len(inside.arrows(view, span=5.0)) >= 1
    assert (view.trust_ratio is not None) == (opt in ("lamb", "lars"))
    assert "trust_ratio" not in dc.OPTIMIZERS[opt].state_slots  # a diagnostic, not optimizer memory
    assert (view.preconditioner is not None) == (opt == "shampoo")


def test_step_view_bounds():
    race = recorded("adam", steps=5)
    with pytest.raises(ValueError):
        inside.step_view(race, 0)
    with pytest.raises(ValueError):
        inside.step_view(race, 6)
    with pytest.raises(ValueError, match="keeps no trust ratio"):
        inside.trust_ratios(race, "adam")
    unrecorded = dc.race("beale", ["lamb"], steps=5)
    with pytest.raises(ValueError, match="record_state=True"):
        inside.trust_ratios(unrecorded, "lamb")
