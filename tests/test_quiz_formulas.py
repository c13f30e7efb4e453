"""Formula cards: at least 20 in the decks, each graded by numeric equivalence through the whitelist parser, so a
right rule typed in another form passes, the usual slips fail, and nothing typed is ever evaluated by Python."""

import builtins

import pytest

from descent_core.quiz import load_deck
from descent_core.quiz.formulas import FormulaError, grade_formula, parse_formula, to_latex
from descent_core.quiz.session import QuizSession, static_question

FORMULA_CARDS = {c.id: c for c in load_deck(include_generated=False).cards if c.kind == "formula"}

# card id -> (the rule typed in other, equivalent forms; the slips people make)
ANSWERS = {
    "formula-gd-step": (["theta - g*eta", "-(lr*g - theta)"], ["theta + lr*g", "theta - g"]),
    "formula-gd-stability-limit": (["2*lmax**-1", "1/(lambda_max/2)"], ["1/lmax", "2*lmax"]),
    "formula-gd-best-contraction": (["1 - 2/(kappa + 1)", "(kappa+1-2)/(1+kappa)"], ["(kappa-1)/kappa", "1/kappa"]),
    "formula-sgd-minibatch-noise": (["sigma*B**-0.5", "sqrt(sigma**2/B)"], ["sigma/B", "sigma**2/B"]),
    "formula-momentum-buffer": (["g + b*momentum"], ["(1 - mu)*g + mu*b", "mu*g + b"]),
    "formula-momentum-dampened-buffer": (["g - tau*g + mu*b", "momentum*b + g*(1 - dampening)"], ["mu*b + tau*g", "mu*b + g"]),
    "formula-momentum-step": (["theta - b*eta"], ["theta + lr*b", "theta - lr*b*(1-0.5)"]),
    "formula-momentum-effective-lr": (["lr*(1 - mu)**-1", "eta/(1-momentum)"], ["lr*(1 - mu)", "lr/mu"]),
    "formula-ema-window": (["(1 - beta)**-1"], ["1/beta", "1 - beta"]),
    "formula-nesterov-step": (["theta - lr*g - lr*mu*b", "theta - eta*(momentum*b + g)"], ["theta - lr*(mu*b)", "theta - lr*g"]),
    "formula-adagrad-sum": (["g*g + s", "s + g^2"], ["s + g", "s*g**2"]),
    "formula-adagrad-step": (["theta - eta*g/(eps + sqrt(s))", "theta - lr*g*(s**0.5 + epsilon)**-1"],
                             ["theta - lr*g/sqrt(s + eps)", "theta - lr*g/(s + eps)"]),
    "formula-adagrad-lr-decay": (["eta/(1 + delta*t - delta)"], ["lr/(1 + t*delta)", "lr*(1 + (t-1)*delta)"]),
    "formula-rmsprop-average": (["(1 - alpha)*g**2 + alpha*v", "v*alpha + g*g - alpha*g*g"], ["alpha*v + (1-alpha)*g", "alpha*v + g**2"]),
    "formula-rmsprop-step": (["theta - g*lr/(eps + v**0.5)"], ["theta - lr*g/sqrt(v + eps)", "theta - lr*g/v"]),
    "formula-adadelta-step": (["-g*lr*sqrt((u + eps)/(v + eps))"], ["-lr*sqrt(u)/sqrt(v + eps)*g", "-lr*g/sqrt(v + eps)"]),
    "formula-adam-first-moment": (["(1 - beta1)*g + beta1*m", "m*b1 + g - b1*g"], ["beta1*m + g", "beta1*g + (1-beta1)*m"]),
    "formula-adam-second-moment": (["(1 - beta2)*g**2 + beta2*v", "v*b2 + (1 - b2)*g*g"], ["beta2*v + (1-beta2)*g", "beta2*v + g**2"]),
    "formula-adam-bias-correction": (["m*(1 - beta1**t)**-1", "m/(1 - b1^t)"], ["m/(1 - beta1)", "m*(1 - beta1**t)"]),
    "formula-adam-step": (["theta - lr*mhat/(eps + vhat**0.5)", "theta - eta*m/(sqrt(v) + epsilon)"],
                          ["theta - lr*m_hat/sqrt(v_hat + eps)", "theta - lr*m_hat/(v_hat + eps)"]),
    "formula-adam-first-step": (["-lr*g/(eps + abs(g))"], ["-lr*g/abs(g)", "-lr*g/(g + eps)"]),
    "formula-amsgrad-max": (["max(v, vmax)", "(v + vmax + abs(v - vmax))/2"], ["v", "min(vmax, v)"]),
    "formula-l2-gradient": (["wd*theta + g", "g + weight_decay*theta"], ["g - wd*theta", "g + wd*theta**2"]),
    "formula-adamw-step": (["theta - lr*wd*theta - lr*m_hat/(sqrt(v_hat) + eps)"],
                           ["theta - lr*m_hat/(sqrt(v_hat) + eps)", "theta*(1 - wd) - lr*m_hat/(sqrt(v_hat) + eps)"]),
    "formula-linear-warmup": (["t*lr/T", "lr*(t/T)"], ["lr*T/t", "lr*t"]),
    "formula-cosine-schedule": (["lr_min + 0.5*(lr - lr_min)*(1 + cos(pi*t/T))", "(lr + lr_min)/2 + (lr - lr_min)*cos(pi*t/T)/2"],
                                ["lr_min + (lr - lr_min)*cos(pi*t/T)", "lr*(1 + cos(pi*t/T))/2"]),
    "formula-clip-by-norm": (["min(g, g*c/n)*0 + g*min(1, max_norm/norm)", "g*min(c/n, 1)"], ["g*c/n", "g*min(1, n/c)"]),
}


def test_there_are_at_least_twenty_formula_cards_and_each_has_a_test_row():
    assert len(FORMULA_CARDS) >= 20
    assert set(ANSWERS) == set(FORMULA_CARDS)


@pytest.mark.parametrize("card_id", sorted(ANSWERS))
def test_right_answers_in_other_forms_pass_and_slips_fail(card_id):
    card = FORMULA_CARDS[card_id]
    right, wrong = ANSWERS[card_id]
    assert grade_formula(card.expression, card.expression, card.variables).correct
    for text in right:
        verdict = grade_formula(text, card.expression, card.variables, seed=3)
        assert verdict.correct, (text, verdict.reason)
    for text in wrong:
        verdict = grade_formula(text, card.expression, card.variables, seed=3)
        assert not verdict.correct, f"{text!r} should not pass for {card.expression!r}"
        assert "the true rule gives" in verdict.reason
    assert to_latex(card.expression, card.variables)


def test_nothing_typed_reaches_pythons_evaluator(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("eval/exec called")

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    card = FORMULA_CARDS["formula-adam-step"]
    assert grade_formula("theta - lr*m/(sqrt(v) + eps)", card.expression, card.variables).correct
    for hostile in ["__import__('os').system('true')", "theta.__class__", "lambda: 1", "theta; 1", "open('x')",
                    "(" * 500 + "theta" + ")" * 500, "theta" + " + theta" * 400, "9" * 500, "", "   ", "theta @ lr",
                    "exp(exp(exp(exp(theta))))" * 0 + "unknown_name * 2"]:
        with pytest.raises(FormulaError) as err:
            grade_formula(hostile, card.expression, card.variables)
        assert err.value.message


def test_a_non_finite_answer_is_wrong_not_a_crash():
    card = FORMULA_CARDS["formula-adagrad-step"]
    verdict = grade_formula("theta - lr*g/(sqrt(s) - sqrt(s))", card.expression, card.variables)
    assert not verdict.correct and "not a finite number" in verdict.reason


def test_the_session_grades_formula_answers_and_keeps_the_clock_on_unreadable_text():
    card = FORMULA_CARDS["formula-adam-bias-correction"]
    session = QuizSession("drill", [static_question(card), static_question(card)])
    session.start(now=0.0)
    with pytest.raises(FormulaError):
        session.answer_formula("m / (1 - beta1**", now=5.0)
    assert session.phase == "asking" and session.outcomes == []
    right = session.answer_formula("m/(1 - b1^t)", now=10.0)
    assert right.correct and right.award.speed_bonus > 0  # the machine checked it: speed counts
    session.next(now=11.0)
    wrong = session.answer_formula("m/(1 - beta1)", now=20.0)
    assert not wrong.correct and wrong.detail.startswith("At ")
    assert parse_formula("m/(1 - b1^t)", card.variables) is not None
