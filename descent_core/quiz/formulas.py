"""Formula cards: read a typed update rule with the guide's whitelist parser and grade it by numeric equivalence.

The parser in ``descent_core.expression`` knows two variables, x and y, because it was written for surfaces. A
formula card needs the card's own symbols (``m``, ``v``, ``eps``, ``lr``...), so ``FormulaParser`` subclasses its
public ``Parser`` and changes only how a name is read. Everything else, the tokenizer's character whitelist, the
depth, size and literal limits, and the error messages with their columns, is the parser's own. Nothing typed ever
reaches Python's evaluator: the tree is walked here with torch operations.

Two expressions are taken as the same rule when they agree, within a tight relative tolerance, at random points drawn
from each variable's range. The ranges are part of the card: they must make the usual mistakes visible (``eps`` is
drawn around 0.1, not 1e-8, so that sqrt(v) + eps and sqrt(v + eps) disagree).
"""

from __future__ import annotations

import dataclasses
import math
import random
import re
from dataclasses import dataclass
from typing import Mapping, Sequence

import torch

from descent_core import expression as ex

from .question import Variable

MAX_FORMULA_LENGTH = 200
SAMPLE_POINTS = 48
REL_TOL = 1e-6
ABS_TOL = 1e-9
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
RESERVED_NAMES = frozenset(ex.FUNCTIONS) | frozenset(ex.CONSTANTS)


class FormulaError(ValueError):
    """A typed formula that cannot be read; shown to the learner and never counted as a wrong answer."""

    def __init__(self, message: str, caret: str = ""):
        super().__init__(message)
        self.message = message
        self.caret = caret


class FormulaParser(ex.Parser):
    """The surface parser with the card's symbols (and their aliases) in place of x and y."""

    def __init__(self, text: str, names: Mapping[str, str]):
        super().__init__(text)
        self.names = dict(names)  # typed name -> canonical variable name

    def name(self, token: ex.Token, depth: int) -> ex.Node:
        if token.text in self.names:
            return self.count_node(ex.Var(self.names[token.text], token.pos))
        if token.text in ex.CONSTANTS:
            return self.count_node(ex.Const(token.text, token.pos))
        if token.text in ex.FUNCTIONS:
            return self.call(token, depth)
        allowed = ", ".join(sorted(set(self.names))) + "; functions " + ", ".join(ex.FUNCTIONS)
        kind = "function" if self.peek().text == "(" else "name"
        self.fail(f"unknown {kind} '{token.text}' at column {token.pos + 1}; this card knows {allowed}", token.pos)


def name_table(variables: Sequence[Variable]) -> dict[str, str]:
    table = {}
    for variable in variables:
        for typed in (variable.name, *variable.aliases):
            table[typed] = variable.name
    return table


def parse_formula(text: str, variables: Sequence[Variable]) -> ex.Node:
    """The tree of a typed formula, or FormulaError saying what is wrong and where."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("Type the rule first, for example lr * g.")
    if len(text) > MAX_FORMULA_LENGTH:
        raise FormulaError(f"The formula is {len(text)} characters long; the limit is {MAX_FORMULA_LENGTH}.")
    try:
        return FormulaParser(text, name_table(variables)).parse()
    except ex.ExpressionError as exc:
        raise FormulaError(exc.message[:1].upper() + exc.message[1:] + ".", exc.caret_text()) from None


def evaluate(node: ex.Node, env: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The tree's value at every sampled point (float64 tensors of one shape), with torch operations only."""
    if isinstance(node, ex.Num):
        return torch.full_like(next(iter(env.values())), node.value)
    if isinstance(node, ex.Const):
        return torch.full_like(next(iter(env.values())), ex.CONSTANTS[node.name])
    if isinstance(node, ex.Var):
        return env[node.name]
    if isinstance(node, ex.Unary):
        inner = evaluate(node.operand, env)
        return inner if node.op == "+" else -inner
    if isinstance(node, ex.Binary):
        left, right = evaluate(node.left, env), evaluate(node.right, env)
        return {"+": torch.add, "-": torch.sub, "*": torch.mul, "/": torch.div, "**": torch.pow}[node.op](left, right)
    fn = ex.FUNCTIONS[node.name][1]
    return fn(*(evaluate(arg, env) for arg in node.args))


def sample_points(variables: Sequence[Variable], n: int, rng: random.Random) -> dict[str, torch.Tensor]:
    """n points drawn uniformly from each variable's range (integers for step counts), always including the ends."""
    env = {}
    for variable in variables:
        if variable.integer:
            values = [float(rng.randint(int(variable.low), int(variable.high))) for _ in range(n)]
        else:
            values = [rng.uniform(variable.low, variable.high) for _ in range(n)]
        values[0], values[-1] = float(variable.low), float(variable.high)
        env[variable.name] = torch.tensor(values, dtype=torch.float64)
    return env


@dataclass(frozen=True)
class Verdict:
    correct: bool
    reason: str  # for the feedback: where the typed rule and the true one part


def grade_formula(typed: str, truth: str, variables: Sequence[Variable], seed: int = 0) -> Verdict:
    """Compare a typed formula with the true rule at random points. FormulaError when the text cannot be read."""
    typed_tree = parse_formula(typed, variables)
    true_tree = parse_formula(truth, variables)
    env = sample_points(variables, SAMPLE_POINTS, random.Random(seed))
    with torch.no_grad():
        expected = evaluate(true_tree, env)
        got = evaluate(typed_tree, env)
    got = torch.broadcast_to(got, expected.shape)
    bad = ~(torch.isfinite(got) & torch.isclose(got, expected, rtol=REL_TOL, atol=ABS_TOL))
    if not bool(bad.any()):
        return Verdict(True, f"Equal to the true rule at all {SAMPLE_POINTS} test points.")
    i = int(torch.nonzero(bad)[0])
    where = ", ".join(f"{name} = {float(values[i]):.4g}" for name, values in env.items())
    value = float(got[i])
    shown = f"{value:.6g}" if math.isfinite(value) else "not a finite number"
    return Verdict(False, f"At {where} the true rule gives {float(expected[i]):.6g}; yours gives {shown}.")


def check_card_formula(truth: str, variables: Sequence[Variable]) -> list[str]:
    """Authoring checks for a formula card: its symbols, and a true rule that is finite over the whole range."""
    problems = []
    seen: set[str] = set()
    for variable in variables:
        for typed in (variable.name, *variable.aliases):
            if not NAME_PATTERN.match(typed) or typed in RESERVED_NAMES:
                problems.append(f"variable name {typed!r} is not usable (a plain identifier, not a function or constant)")
            if typed in seen:
                problems.append(f"variable name {typed!r} is used twice")
            seen.add(typed)
        if not (math.isfinite(variable.low) and math.isfinite(variable.high) and variable.low < variable.high):
            problems.append(f"variable {variable.name!r} needs a finite range with low < high")
    if problems:
        return problems
    try:
        tree = parse_formula(truth, variables)
    except FormulaError as exc:
        return [f"the true rule does not parse: {exc.message}"]
    with torch.no_grad():
        values = evaluate(tree, sample_points(variables, 4 * SAMPLE_POINTS, random.Random(1)))
    if not bool(torch.isfinite(values).all()):
        problems.append("the true rule is not finite everywhere in the variables' ranges")
    return problems


def to_latex(text: str, variables: Sequence[Variable]) -> str:
    """The typed formula as LaTeX (the parser's own printer, with each symbol printed as the card writes it)."""
    symbols = {v.name: v.latex or v.name for v in variables}
    return ex.to_latex(_renamed(parse_formula(text, variables), symbols))


def _renamed(node: ex.Node, symbols: Mapping[str, str]) -> ex.Node:
    if isinstance(node, ex.Var):
        return dataclasses.replace(node, name=symbols.get(node.name, node.name))
    if isinstance(node, ex.Unary):
        return dataclasses.replace(node, operand=_renamed(node.operand, symbols))
    if isinstance(node, ex.Binary):
        return dataclasses.replace(node, left=_renamed(node.left, symbols), right=_renamed(node.right, symbols))
    if isinstance(node, ex.Call):
        return dataclasses.replace(node, args=tuple(_renamed(a, symbols) for a in node.args))
    return node
