"""Cards speak the notation page's language: every symbol in a card's LaTeX is one that content/notation.md's tables
define, or one of a short, explicit list that a section introduces for its own topic; and a few known misuses (the
steps counted from 0, a velocity called v, RMSprop's decay called ρ, RAdam's ρ_t and r_t, x as an iterate, L as a
smoothness constant, b as a batch size) are refused by name."""

from __future__ import annotations

import pathlib
import re

import pytest
import yaml

from descent_core import content

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTATION = ROOT / "content" / "notation.md"
# The decks of the guide's sections 00-13 (the after-Adam, formulas, scale and 2026-schedules decks belong to pages
# that introduce symbols of their own; add a deck here once its symbols are in the lists below).
DECKS = tuple(sorted(p.stem for p in (ROOT / "content" / "decks").glob("*.yaml") if not p.name.startswith("_")))

# --------------------------------------------------------------------------------------------------------------
# Reading LaTeX into symbols ("atoms"): a Latin letter, a Greek letter, or one of those under \hat/\bar/\tilde or a
# font (\mathcal{B}); text, operator names and function commands are not symbols.

_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<![\\$])\$")
_FENCE = re.compile(r"```.*?```", re.S)
_CODE = re.compile(r"`[^`\n]*`")
_TEXT = re.compile(r"\\(text|mathrm|operatorname|texttt|textbf|textit|mbox|begin|end)\s*\{[^{}]*\}")
_COMMAND = re.compile(r"\\([A-Za-z]+)")
GREEK = set("alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta kappa lambda mu nu xi pi rho sigma "
            "tau phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Phi Psi Omega".split())
DECORATIONS = {"hat", "bar", "tilde", "widehat", "overline"}
FONTS = {"mathcal", "mathbb", "mathbf", "boldsymbol"}


def formulas(text: str) -> list[str]:
    text = _CODE.sub("", _FENCE.sub("", content.unquote(text)))
    found = [m.group(1) for m in _DISPLAY.finditer(text)]
    return found + [m.group(1) for m in _INLINE.finditer(_DISPLAY.sub("", text))]


def atoms(tex: str) -> list[str]:
    """The symbols of one formula, in order: "\\theta", "g", "\\hat m", "\\mathcal{B}", ..."""
    tex, out, i = _TEXT.sub(" ", tex), [], 0
    while i < len(tex):
        if tex[i] == "\\":
            match = _COMMAND.match(tex, i)
            if not match:
                i += 2  # an escaped character: \, \; \{ ...
                continue
            name, i = match.group(1), match.end()
            if name in DECORATIONS or name in FONTS:
                while i < len(tex) and tex[i] in " {":
                    i += 1
                inner = _COMMAND.match(tex, i)
                symbol = "\\" + inner.group(1) if inner else tex[i:i + 1]
                i = inner.end() if inner else i + 1
                while i < len(tex) and tex[i] in " }":
                    i += 1
                out.append(f"\\{name}{{{symbol}}}" if name in FONTS else f"\\{name} {symbol}")
            elif name in GREEK:
                out.append("\\" + name)
        elif tex[i].isalpha():
            out.append(tex[i])
            i += 1
        else:
            i += 1
    return out


def notation_symbols() -> set[str]:
    """Every symbol in the first column of the notation page's tables."""
    symbols = set()
    for line in NOTATION.read_text(encoding="utf-8").splitlines():
        if line.startswith("| $"):
            for tex in formulas(line.split("|")[1]):
                symbols.update(atoms(tex))
    return symbols


# Always allowed: indices and counters (i, j, k), a horizon or transpose (T, \top is not an atom), a constant c,
# Euler's e, the identity I, big-O, π, and the blackboard E and R.
GENERIC = {"i", "j", "k", "T", "c", "e", "I", "O", "\\pi", "\\mathbb{E}", "\\mathbb{R}"}
# Symbols a section introduces for its own topic, each with the section that defines it.
TOPIC_SYMBOLS = {
    "gd": {"e"},  # 01: the error e_t = θ_t − θ*
    "adamw": {"\\tilde g"},  # 10: the gradient with the L2 term, g̃_t = g_t + λθ_{t−1}
    "amsgrad": {"x", "C"},  # 09: the scalar of Reddi et al.'s counterexample and its rare gradient C
    "nadam": {"\\psi"},  # 11: torch's momentum_decay
    "frontier": {"n", "\\omega",  # 12: RAdam's n_t and rectifier ω_t
                 "\\zeta", "\\xi", "a",  # LARS's trust coefficient, LAMB's trust ratio and direction a_t
                 "A", "C", "Q",  # Shampoo's left and right statistics; a rotation
                 "h", "\\hat h", "\\gamma",  # Sophia's curvature EMA, its fresh estimate and its scale
                 "z", "U", "V", "\\Sigma"},  # Muon's Nesterov mix z_t and the SVD U Σ V^T (O is generic)
    "after-adam": {"z",  # 13: Schedule-Free's third sequence (x, y, z are Defazio et al.'s names)
                   "A", "C", "Q",  # SOAP's statistics and eigenbases, as Shampoo's in 12
                   "R", "n",  # Adafactor's row statistic R_t (its column one is C_t) for an m x n matrix
                   "D",  # Prodigy's distance to the solution, D = ||θ_0 − θ*||
                   "\\mathbb{1}"},  # Cautious's indicator of agreeing signs
    "schedules": {"n",  # clipping: the gradient's global norm
                  "\\gamma"},  # step decay's factor per stage (torch's gamma)
    "scale": {"A", "C", "n",  # Shampoo's statistics of an m x n matrix, as in 12
              "G",  # a gradient matrix, in SOAP's GG^T
              "S",  # the loss scale of mixed precision
              "\\bar \\theta"},  # the EMA / SWA average of the weights
    "sharpness": {"\\varepsilon", "\\hat \\varepsilon",  # SAM's perturbation and its first-order solution
                  "P"},  # a preconditioner, in the preconditioned sharpness λ_max(P^{-1}H)
}

# Misuses refused by name: (pattern, what to write instead, topics where the pattern is the section's own notation).
MISUSES = (
    (re.compile(r"\\theta_\{?[tk]\s*\+\s*1\}?"), "steps are counted from 1: write θ_t = θ_{t−1} − …", ()),
    (re.compile(r"\\mu\s*(\\[,;!]\s*)*v|v_\{?t\}?\s*=\s*\\mu"), "a velocity is Δθ_t or the buffer b_t, not v", ()),
    (re.compile(r"\\rho"), "ρ is AdaDelta's decay and SAM's radius only (RMSprop's is α, RAdam's count n_t, Sophia's "
     "scale γ)", ("adadelta", "sharpness")),
    (re.compile(r"(?<![A-Za-z\\])r_\{?t"), "RAdam's rectifier is ω_t; r is a contraction factor (Prodigy's own r_t aside)",
     ("after-adam",)),
    (re.compile(r"(?<![A-Za-z\\])x_\{?[0tk]|(?<![A-Za-z\\])x\^\{?\\star|f\(x_"), "iterates are θ_t, θ_0, θ*",
     ("amsgrad", "after-adam")),  # the counterexample's scalar x; Schedule-Free's x, y, z sequences
    (re.compile(r"(?<![A-Za-z\\])L(?!\s*\()"), "L is the loss L(θ); a smoothness constant is λ_max", ()),
    (re.compile(r"\\frac\s*\{?1\}?\s*\{?b\}?(?![A-Za-z_])|1/b\b|\\sqrt\s*\{?b\}?(?![A-Za-z_])"),
     "the batch size is B", ()),
)


def cards():
    for deck in DECKS:
        path = ROOT / "content" / "decks" / f"{deck}.yaml"
        for card in yaml.safe_load(path.read_text(encoding="utf-8"))["cards"]:
            yield deck, card


def card_formulas(card: dict) -> list[str]:
    fields = [card.get("prompt", ""), card.get("answer", "")] + list(card.get("key_points") or [])
    fields += [str(option) for option in card.get("options") or []]
    return [tex for text in fields for tex in formulas(str(text))]


CARDS = list(cards())


def test_the_notation_page_defines_the_core_symbols():
    symbols = notation_symbols()
    assert {"\\theta", "\\eta", "g", "b", "m", "v", "s", "u", "\\hat m", "\\hat v", "\\bar g", "\\rho", "\\alpha",
            "\\mathcal{B}", "B", "\\lambda", "\\kappa"} <= symbols
    assert "G" not in symbols and "\\hat g" not in symbols


def test_the_atom_reader():
    assert atoms(r"\theta_t = \theta_{t-1} - \eta\,\hat m_t/(\sqrt{\hat v_t}+\epsilon)") == [
        "\\theta", "t", "\\theta", "t", "\\eta", "\\hat m", "t", "\\hat v", "t", "\\epsilon"]
    assert atoms(r"\mathcal{B}_t, \operatorname{sign}(g), \text{lr}") == ["\\mathcal{B}", "t", "g"]


@pytest.mark.parametrize("deck, card", CARDS, ids=[f"{deck}:{card['id']}" for deck, card in CARDS])
def test_cards_use_the_notation_table(deck, card):
    allowed = notation_symbols() | GENERIC | TOPIC_SYMBOLS.get(card["topic"], set())
    problems = []
    for tex in card_formulas(card):
        unknown = sorted(set(atoms(tex)) - allowed)
        if unknown:
            problems.append(f"{unknown} in ${tex}$")
        for pattern, advice, own_topics in MISUSES:
            if card["topic"] not in own_topics and pattern.search(tex):
                problems.append(f"${tex}$: {advice}")
    assert not problems, "\n".join(problems)


def test_the_misuse_patterns_bite():
    bad = {r"\theta_{t+1} = \theta_t": 0, r"v_t = \mu v_{t-1} - \eta g_t": 1, r"\rho\,v": 2, r"r_t = \sqrt{x}": 3,
           r"f(x_t) - f^\star": 4, r"2L\lVert\theta_0\rVert": 5, r"\frac1b\sum": 6}
    for tex, index in bad.items():
        assert MISUSES[index][0].search(tex), tex
    for good in (r"\theta_t = \theta_{t-1} - \eta b_t", r"L(\theta_t) - L(\theta^\star)", r"b_t = \mu b_{t-1} + g_t",
                 r"\frac{1}{B}\sum_{i} g_i", r"\nabla L(\theta)"):
        assert not any(pattern.search(good) for pattern, _, _ in MISUSES[:2] + MISUSES[3:]), good
