"""Your own surface: a whitelist parser that turns typed text such as ``x**2 + 3*sin(y)`` into a torch function.

The pipeline has three small stages, none of which ever hands user text to Python's evaluator:

1. ``tokenize`` cuts the text into numbers, names and operators with one ASCII-only regular expression.
   A character that is not allowed becomes an error token, so the parser reports problems left to right.
2. ``Parser`` is a Pratt (precedence-climbing) recursive-descent parser. It builds a tree of frozen dataclasses
   (``Num``, ``Var``, ``Const``, ``Unary``, ``Binary``, ``Call``) and enforces the limits below.
3. ``compile_tree`` walks the tree once and returns a closure ``f(x, y)`` made only of torch operations, so the
   result is batched, keeps the input's dtype, and is differentiable by autograd.

Precedence follows Python and ordinary math: ``+ -`` < ``* /`` < unary minus < ``**`` (right-associative, ``^`` is
accepted as a synonym), so ``-x**2`` means ``-(x**2)`` and ``2**3**2`` means ``2**(3**2)``.

``validate_surface`` and ``check_start`` refuse surfaces that cannot be raced (NaN on most of the region, constant,
an infinite gradient at the start); ``surface_landscape`` wraps a checked surface as a ``Landscape`` for
``descent_core.race``, and ``tune_surface`` picks each optimizer's learning rate for it from one batched sweep.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Callable, Iterator

import torch

from .landscapes import Landscape
from .tuning import tune

# ---------------------------------------------------------------------------------------------------------------
# Limits. Each one bounds the work a single input can cause; together they make the parser's recursion shallow.
# ---------------------------------------------------------------------------------------------------------------
MAX_LENGTH = 200  # characters; a surface a person types fits in one line
MAX_DEPTH = 20  # nested sub-expressions (parentheses, function arguments, unary signs, right operands)
MAX_NODES = 120  # numbers, names and operations in the tree
MAX_LITERAL = 1e6  # magnitude of a typed number; larger scales belong in an exponent the user can see
MAX_EXPONENT = 16.0  # magnitude of a constant exponent of ``**``; x**16 is already steep enough to overflow float32

VARIABLES = ("x", "y")
CONSTANTS = {"pi": math.pi, "e": math.e}

# name -> (number of arguments, torch implementation). ``min``/``max`` are element-wise over their two arguments.
FUNCTIONS: dict[str, tuple[int, Callable[..., torch.Tensor]]] = {
    "abs": (1, torch.abs),
    "sqrt": (1, torch.sqrt),
    "exp": (1, torch.exp),
    "log": (1, torch.log),
    "sin": (1, torch.sin),
    "cos": (1, torch.cos),
    "tanh": (1, torch.tanh),
    "min": (2, torch.minimum),
    "max": (2, torch.maximum),
}

ALLOWED_NAMES = VARIABLES + tuple(CONSTANTS) + tuple(FUNCTIONS)


@dataclass(frozen=True)
class Example:
    """A ready-made surface with a region and a start that show something."""

    text: str
    bounds: tuple[tuple[float, float], tuple[float, float]]
    start: tuple[float, float]


EXAMPLES: dict[str, Example] = {
    "Bowl": Example("x**2 + 3*y**2", ((-2.0, 2.0), (-2.0, 2.0)), (-1.6, 1.4)),
    "Rosenbrock": Example("(1 - x)**2 + 100*(y - x**2)**2", ((-2.0, 2.0), (-1.0, 3.0)), (-1.5, 2.0)),
    "Ravine with a wobble": Example("0.1*x**2 + 4*y**2 + 0.3*sin(3*x)", ((-6.0, 6.0), (-3.0, 3.0)), (-5.0, 2.0)),
    "Three-hump camel": Example("2*x**2 - 1.05*x**4 + x**6/6 + x*y + y**2", ((-3.0, 3.0), (-3.0, 3.0)), (2.5, -2.0)),
    "Egg crate": Example("0.2*(x**2 + y**2) - cos(2*x)*cos(2*y)", ((-4.0, 4.0), (-4.0, 4.0)), (3.2, 2.6)),
    "Cone (not smooth)": Example("abs(x) + 2*abs(y)", ((-2.0, 2.0), (-2.0, 2.0)), (1.7, 1.1)),
    "Soft hinge": Example("log(1 + exp(3*(y - x))) + 0.1*(x**2 + y**2)", ((-4.0, 4.0), (-4.0, 4.0)), (-3.0, 3.0)),
}

# Helpful hints for characters people paste from documents or type on phones.
_LOOKALIKES = {
    "\u00d7": "'*'",  # multiplication sign
    "\u00b7": "'*'",  # middle dot
    "\u22c5": "'*'",  # dot operator
    "\u00f7": "'/'",  # division sign
    "\u2212": "'-'",  # minus sign
    "\u2013": "'-'",  # en dash
    "\u00b2": "'**2'",  # superscript two
    "\u00b3": "'**3'",  # superscript three
    "\u03c0": "'pi'",  # greek small letter pi
    "\u221a": "'sqrt(...)'",  # square root sign
    "[": "'(' and ')'",
    "]": "'(' and ')'",
    "{": "'(' and ')'",
    "}": "'(' and ')'",
}


class ExpressionError(ValueError):
    """A surface that cannot be parsed or used, with the 0-based ``position`` of the problem when there is one.

    ``message`` is complete and human-readable (it already names the column); ``caret_text()`` adds the typed text
    with a ``^`` under the offending character, ready for ``st.error`` inside a code block.
    """

    def __init__(self, message: str, position: int | None = None, text: str | None = None):
        super().__init__(message)
        self.message = message
        self.position = position
        self.text = text

    @property
    def column(self) -> int | None:
        """1-based column of the problem, as people count."""
        return None if self.position is None else self.position + 1

    def caret_text(self) -> str:
        """The expression on one line and a caret under the problem on the next (empty when there is no text)."""
        if self.text is None or self.position is None:
            return ""
        shown = _printable(self.text)
        return f"{shown}\n{' ' * min(self.position, len(shown))}^"


def _printable(text: str) -> str:
    """Text with whitespace and control characters shown as single spaces, so a caret below lines up."""
    return "".join(ch if ch.isprintable() and not ch.isspace() else " " for ch in text)


def _at(position: int) -> str:
    return f"at column {position + 1}"


# ---------------------------------------------------------------------------------------------------------------
# The tree. ``pos`` is where the node starts in the text; it is excluded from equality so that two parses of
# differently spaced texts compare equal when they mean the same thing.
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Num:
    value: float
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Var:
    name: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Const:
    name: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Unary:
    op: str
    operand: "Node"
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Binary:
    op: str
    left: "Node"
    right: "Node"
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple["Node", ...]
    pos: int = field(default=0, compare=False)


Node = Num | Var | Const | Unary | Binary | Call


def has_variable(node: Node) -> bool:
    """True when the tree mentions x or y anywhere."""
    if isinstance(node, Var):
        return True
    if isinstance(node, Unary):
        return has_variable(node.operand)
    if isinstance(node, Binary):
        return has_variable(node.left) or has_variable(node.right)
    if isinstance(node, Call):
        return any(has_variable(arg) for arg in node.args)
    return False


# ---------------------------------------------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: str  # "num", "name", "op", "end" or "bad" (a character the grammar never accepts)
    text: str
    pos: int


# One alternative per token kind; re.ASCII keeps \d and \s from matching other scripts' digits and spaces.
_TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\*\*|[-+*/^(),])
    """,
    re.VERBOSE | re.ASCII,
)


def tokenize(text: str) -> Iterator[Token]:
    """Yield the tokens of ``text`` followed by one ``end`` token; unknown characters become ``bad`` tokens."""
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            yield Token("bad", text[pos], pos)
            pos += 1
            continue
        kind = match.lastgroup
        if kind != "space":
            # '^' is the power operator people know from calculators and LaTeX.
            yield Token(kind, "**" if match.group() == "^" else match.group(), pos)
        pos = match.end()
    yield Token("end", "", len(text))


def _describe(token: Token) -> str:
    if token.kind == "end":
        return "the end of the expression"
    if token.kind == "num":
        return f"number {token.text}"
    if token.kind == "name":
        return f"name '{token.text}'"
    return f"'{token.text}'"


def _bad_character_message(token: Token) -> str:
    ch = token.text
    shown = f"character '{ch}'" if ch.isprintable() else "control character"
    message = f"unexpected {shown} (U+{ord(ch):04X}) {_at(token.pos)}"
    if ch in _LOOKALIKES:
        return f"{message}; write {_LOOKALIKES[ch]} instead"
    if ch == ".":
        return f"{message}; attributes and methods are not part of the language"
    if ch in "'\"":
        return f"{message}; strings are not part of the language"
    if not ch.isascii():
        return f"{message}; only ASCII math is accepted"
    return f"{message}; allowed operators are + - * / ** ^ ( ) ,"


# ---------------------------------------------------------------------------------------------------------------
# Parser
# ---------------------------------------------------------------------------------------------------------------
# Binding powers: a higher number binds tighter. Unary minus sits between * and ** so that -x**2 = -(x**2).
_BINARY_POWER = {"+": 10, "-": 10, "*": 20, "/": 20, "**": 40}
_RIGHT_ASSOCIATIVE = {"**"}
_UNARY_POWER = 30


class Parser:
    """Pratt parser over ``tokenize(text)``: ``parse()`` returns the tree or raises ``ExpressionError``."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = list(tokenize(text))
        self.index = 0
        self.nodes = 0

    # -- token stream -------------------------------------------------------------------------------------------
    def peek(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind == "bad":
            self.fail(_bad_character_message(token), token.pos)
        self.index += 1
        return token

    def fail(self, message: str, position: int) -> None:
        raise ExpressionError(message, position, self.text)

    def count_node(self, node: Node) -> Node:
        """Count every node built, so a long flat sum cannot grow the tree without bound."""
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self.fail(f"the expression has more than {MAX_NODES} terms and operations "
                      f"(the last one {_at(node.pos)}); simplify it", node.pos)
        return node

    # -- grammar ------------------------------------------------------------------------------------------------
    def parse(self) -> Node:
        tree = self.expression(0, depth=1)
        token = self.peek()
        if token.kind != "end":
            self.fail_after_operand(token)
        return tree

    def expression(self, min_power: int, depth: int) -> Node:
        """Parse operators that bind tighter than ``min_power``: the loop handles left-associative chains, the
        recursion on the right operand handles precedence (and right-associativity of ``**``)."""
        if depth > MAX_DEPTH:
            self.fail(f"the expression is nested more than {MAX_DEPTH} levels deep {_at(self.peek().pos)}",
                      self.peek().pos)
        left = self.prefix(depth)
        while True:
            token = self.peek()
            power = _BINARY_POWER.get(token.text) if token.kind == "op" else None
            if power is None:
                if token.kind == "end" or token.text in (")", ","):
                    return left
                self.fail_after_operand(token)
            if power <= min_power:
                return left
            self.advance()
            right_power = power - 1 if token.text in _RIGHT_ASSOCIATIVE else power
            right = self.expression(right_power, depth + 1)
            left = self.count_node(Binary(token.text, left, right, left.pos))
            if token.text == "**":
                self.check_exponent(right)

    def prefix(self, depth: int) -> Node:
        """An operand: a number, a name, a call, a parenthesised expression, or a signed operand."""
        token = self.advance()
        if token.kind == "num":
            return self.count_node(Num(self.literal(token), token.pos))
        if token.kind == "name":
            return self.name(token, depth)
        if token.text == "(":
            inner = self.expression(0, depth + 1)
            self.expect_close(token)
            return inner
        if token.text in ("-", "+"):
            operand = self.expression(_UNARY_POWER, depth + 1)
            return self.count_node(Unary(token.text, operand, token.pos))
        self.fail(f"expected a number, x, y, a function or '(' {_at(token.pos)}, found {_describe(token)}",
                  token.pos)

    def name(self, token: Token, depth: int) -> Node:
        if token.text in VARIABLES:
            return self.count_node(Var(token.text, token.pos))
        if token.text in CONSTANTS:
            return self.count_node(Const(token.text, token.pos))
        if token.text in FUNCTIONS:
            return self.call(token, depth)
        kind = "function" if self.peek().text == "(" else "name"
        self.fail(f"unknown {kind} '{token.text}' {_at(token.pos)}; allowed: {', '.join(ALLOWED_NAMES)}",
                  token.pos)

    def call(self, token: Token, depth: int) -> Node:
        arity = FUNCTIONS[token.text][0]
        opening = self.peek()
        if opening.text != "(":
            self.fail(f"function '{token.text}' {_at(token.pos)} needs its argument in parentheses, "
                      f"like {token.text}(x)", opening.pos)
        self.advance()
        args = [self.expression(0, depth + 1)]
        while self.peek().text == ",":
            self.advance()
            args.append(self.expression(0, depth + 1))
        if len(args) != arity:
            noun = "argument" if arity == 1 else "arguments"
            self.fail(f"{token.text} takes {arity} {noun}, got {len(args)} {_at(token.pos)}", token.pos)
        self.expect_close(opening)
        return self.count_node(Call(token.text, tuple(args), token.pos))

    def expect_close(self, opening: Token) -> None:
        token = self.peek()
        if token.text == ")":
            self.advance()
            return
        if token.kind in ("end", "bad") or token.text == ",":
            if token.kind == "bad":
                self.advance()  # reports the bad character itself
            self.fail(f"missing ')' to close the '(' {_at(opening.pos)}, found {_describe(token)}", token.pos)
        self.fail_after_operand(token)

    def fail_after_operand(self, token: Token) -> None:
        """Explain a token that cannot follow a complete operand."""
        if token.kind == "bad":
            self.advance()
        if token.text == ")":
            self.fail(f"unmatched ')' {_at(token.pos)}", token.pos)
        if token.text == ",":
            self.fail(f"unexpected ',' {_at(token.pos)}; commas only separate the two arguments of min and max",
                      token.pos)
        if token.kind == "name" and token.text not in ALLOWED_NAMES:
            self.fail(f"unexpected name '{token.text}' {_at(token.pos)}; expected an operator such as + or *",
                      token.pos)
        self.fail(f"missing operator before {_describe(token)} {_at(token.pos)}; write '*' to multiply",
                  token.pos)

    def literal(self, token: Token) -> float:
        value = float(token.text)
        if not abs(value) <= MAX_LITERAL:
            self.fail(f"number {token.text} {_at(token.pos)} is out of range; "
                      f"numbers may be at most {MAX_LITERAL:g} in size", token.pos)
        return value

    def check_exponent(self, exponent: Node) -> None:
        """A constant exponent must be finite and at most MAX_EXPONENT in size (x**y stays free: it is data)."""
        if has_variable(exponent):
            return
        value = evaluate_constant(exponent)
        if not abs(value) <= MAX_EXPONENT:
            self.fail(f"exponent {_at(exponent.pos)} evaluates to {value:g}; "
                      f"constant exponents may be at most {MAX_EXPONENT:g} in size", exponent.pos)


# ---------------------------------------------------------------------------------------------------------------
# Compiler: tree -> closure over torch ops
# ---------------------------------------------------------------------------------------------------------------
Fn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

_BINARY_OPS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "+": torch.add,
    "-": torch.sub,
    "*": torch.mul,
    "/": torch.div,
    "**": torch.pow,
}


def compile_tree(node: Node) -> Fn:
    """Return ``f(x, y)`` computing the tree with torch ops. Constants become 0-d tensors of x's dtype, so
    float32 input stays float32 and everything broadcasts against the batch."""
    if isinstance(node, Num | Const):
        value = node.value if isinstance(node, Num) else CONSTANTS[node.name]
        return lambda x, y: x.new_tensor(value)
    if isinstance(node, Var):
        return (lambda x, y: x) if node.name == "x" else (lambda x, y: y)
    if isinstance(node, Unary):
        operand = compile_tree(node.operand)
        return operand if node.op == "+" else (lambda x, y: torch.neg(operand(x, y)))
    if isinstance(node, Binary):
        op, left, right = _BINARY_OPS[node.op], compile_tree(node.left), compile_tree(node.right)
        return lambda x, y: op(left(x, y), right(x, y))
    fn = FUNCTIONS[node.name][1]
    args = [compile_tree(arg) for arg in node.args]
    if len(args) == 1:
        (only,) = args
        return lambda x, y: fn(only(x, y))
    first, second = args
    return lambda x, y: fn(first(x, y), second(x, y))


def evaluate_constant(node: Node) -> float:
    """Value of a variable-free tree, computed by the same torch ops in float64 (overflow gives inf, not an error)."""
    zero = torch.zeros((), dtype=torch.float64)
    return float(compile_tree(node)(zero, zero))


# ---------------------------------------------------------------------------------------------------------------
# Printing: canonical text (minimal parentheses) and LaTeX
# ---------------------------------------------------------------------------------------------------------------
def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _power_of(node: Node) -> int:
    """Binding power of the node's top operator; atoms bind tightest."""
    if isinstance(node, Binary):
        return _BINARY_POWER[node.op]
    if isinstance(node, Unary):
        return _UNARY_POWER
    return 100


def _needs_parens(child: Node, parent_power: int, side: str, right_assoc: bool) -> bool:
    power = _power_of(child)
    if power < parent_power:
        return True
    if power == parent_power:
        # For a left-associative operator the right operand must be wrapped (x - (y - 1)); for ** the left one.
        return (side == "left") == right_assoc
    return False


def to_text(node: Node) -> str:
    """Canonical text of the tree with only the parentheses the grammar needs; parses back to an equal tree."""
    if isinstance(node, Num):
        return _number_text(node.value)
    if isinstance(node, Var | Const):
        return node.name
    if isinstance(node, Call):
        return f"{node.name}({', '.join(to_text(arg) for arg in node.args)})"
    if isinstance(node, Unary):
        inner = to_text(node.operand)
        return f"{node.op}({inner})" if _power_of(node.operand) < _UNARY_POWER else f"{node.op}{inner}"
    power, right_assoc = _BINARY_POWER[node.op], node.op in _RIGHT_ASSOCIATIVE
    parts = []
    for side, child in (("left", node.left), ("right", node.right)):
        text = to_text(child)
        wrap = _needs_parens(child, power, side, right_assoc)
        # A signed base must be wrapped too: (-x)**2 is not -x**2.
        wrap = wrap or (node.op == "**" and side == "left" and isinstance(child, Unary))
        parts.append(f"({text})" if wrap else text)
    return f" {node.op} ".join(parts) if power == 10 else f"{parts[0]}{node.op}{parts[1]}"


_LATEX_FUNCTIONS = {"sin": r"\sin", "cos": r"\cos", "tanh": r"\tanh", "exp": r"\exp", "log": r"\log",
                    "min": r"\min", "max": r"\max"}


def _latex_number(value: float) -> str:
    text = _number_text(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text


def to_latex(node: Node) -> str:
    """KaTeX-ready LaTeX for the tree: fractions for /, raised exponents, \\sqrt and |.| for sqrt and abs."""
    if isinstance(node, Num):
        return _latex_number(node.value)
    if isinstance(node, Var):
        return node.name
    if isinstance(node, Const):
        return r"\pi" if node.name == "pi" else "e"
    if isinstance(node, Call):
        args = [to_latex(arg) for arg in node.args]
        if node.name == "sqrt":
            return rf"\sqrt{{{args[0]}}}"
        if node.name == "abs":
            return rf"\left|{args[0]}\right|"
        return rf"{_LATEX_FUNCTIONS[node.name]}\left({', '.join(args)}\right)"
    if isinstance(node, Unary):
        inner = to_latex(node.operand)
        wrap = _power_of(node.operand) < _UNARY_POWER
        return f"{node.op}\\left({inner}\\right)" if wrap else f"{node.op}{inner}"
    if node.op == "/":
        return rf"\frac{{{to_latex(node.left)}}}{{{to_latex(node.right)}}}"
    left, right = to_latex(node.left), to_latex(node.right)
    power, right_assoc = _BINARY_POWER[node.op], node.op in _RIGHT_ASSOCIATIVE
    if node.op == "**":
        # The exponent is raised and braced, so it never needs parentheses; the base sometimes does.
        base_wrap = _needs_parens(node.left, power, "left", True) or isinstance(node.left, Unary | Call)
        base = rf"\left({left}\right)" if base_wrap else left
        return f"{{{base}}}^{{{right}}}"
    if _needs_parens(node.left, power, "left", right_assoc):
        left = rf"\left({left}\right)"
    if _needs_parens(node.right, power, "right", right_assoc) or (node.op != "+" and isinstance(node.right, Unary)):
        right = rf"\left({right}\right)"
    symbol = r" \cdot " if node.op == "*" else f" {node.op} "
    return f"{left}{symbol}{right}"


# ---------------------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Surface:
    """A parsed surface f(x, y). ``loss`` maps points ``xy[..., 2]`` to values ``[...]``."""

    text: str
    tree: Node
    _fn: Fn = field(repr=False, compare=False)

    def loss(self, xy: torch.Tensor) -> torch.Tensor:
        """f at every point of ``xy`` (shape ``[..., 2]``), same dtype as ``xy``, differentiable by autograd."""
        x, y = xy[..., 0], xy[..., 1]
        value = self._fn(x, y)
        if not has_variable(self.tree):
            # Tie a constant surface to the input so that its shape is the batch shape and autograd sees a
            # (zero) gradient instead of complaining that xy was never used.
            value = value + 0.0 * x
        return value

    __call__ = loss

    @property
    def canonical(self) -> str:
        """The expression re-printed with canonical spacing and minimal parentheses."""
        return to_text(self.tree)

    def to_latex(self) -> str:
        return to_latex(self.tree)


def parse_surface(text: str) -> Surface:
    """Parse ``text`` into a ``Surface`` or raise ``ExpressionError`` saying what is wrong and where."""
    if not isinstance(text, str):
        raise ExpressionError(f"the expression must be text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression is {len(text)} characters long; the limit is {MAX_LENGTH}", MAX_LENGTH, text[:MAX_LENGTH]
        )
    if not text.strip():
        raise ExpressionError("the expression is empty; type a function of x and y, for example x**2 + 3*y**2", 0, text)
    tree = Parser(text).parse()
    return Surface(text=text, tree=tree, _fn=compile_tree(tree))


# ---------------------------------------------------------------------------------------------------------------
# Checking a surface over a region
# ---------------------------------------------------------------------------------------------------------------
MIN_FINITE_FRACTION = 0.5  # below this the optimizers would mostly see NaN/inf; the surface is not usable
GRID_POINTS = 61


@dataclass(frozen=True)
class SurfaceCheck:
    """What a grid evaluation found: the share of finite values and their range (for the UI's warnings)."""

    finite_fraction: float
    low: float
    high: float


def _grid(bounds, points: int = GRID_POINTS) -> torch.Tensor:
    """A ``points x points`` grid of (x, y) in float64 over ``bounds = ((xmin, xmax), (ymin, ymax))``."""
    (x0, x1), (y0, y1) = bounds
    xs = torch.linspace(float(x0), float(x1), points, dtype=torch.float64)
    ys = torch.linspace(float(y0), float(y1), points, dtype=torch.float64)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    return torch.stack([gx, gy], dim=-1)


def check_bounds(bounds) -> tuple[tuple[float, float], tuple[float, float]]:
    """Normalise bounds to two increasing float pairs, or raise ExpressionError."""
    try:
        (x0, x1), (y0, y1) = bounds
        x0, x1, y0, y1 = (float(v) for v in (x0, x1, y0, y1))
    except (TypeError, ValueError):
        raise ExpressionError("bounds must be ((x min, x max), (y min, y max))") from None
    if not all(math.isfinite(v) for v in (x0, x1, y0, y1)) or not (x0 < x1 and y0 < y1):
        raise ExpressionError(f"bounds must be finite with min < max; got x in [{x0:g}, {x1:g}], y in [{y0:g}, {y1:g}]")
    return (x0, x1), (y0, y1)


def validate_surface(surface: Surface, bounds) -> SurfaceCheck:
    """Evaluate the surface on a grid over ``bounds`` and raise ExpressionError when it is unusable there:
    non-finite on most of the region, or constant (zero gradient everywhere, so nothing would move)."""
    bounds = check_bounds(bounds)
    with torch.no_grad():
        values = surface.loss(_grid(bounds))
    finite = torch.isfinite(values)
    fraction = float(finite.double().mean())
    if fraction == 0.0:
        raise ExpressionError(f"'{surface.text}' is not finite anywhere in the region (every value is NaN or inf)")
    if fraction < MIN_FINITE_FRACTION:
        raise ExpressionError(
            f"'{surface.text}' is NaN or inf on {100 * (1 - fraction):.0f}% of the region; "
            "shift the bounds or guard the function (for example log(1 + x**2) instead of log(x))"
        )
    kept = values[finite]
    low, high = float(kept.min()), float(kept.max())
    if high - low <= 1e-12 * max(1.0, abs(high), abs(low)):
        raise ExpressionError(f"'{surface.text}' is constant over the region, so its gradient is zero and nothing moves")
    return SurfaceCheck(finite_fraction=fraction, low=low, high=high)


def check_start(surface: Surface, start) -> tuple[float, float]:
    """The start point as floats; raise ExpressionError when f or its gradient is not finite there."""
    try:
        x, y = (float(v) for v in start)
    except (TypeError, ValueError):
        raise ExpressionError("the start must be a pair of numbers (x, y)") from None
    point = torch.tensor([x, y], dtype=torch.float64, requires_grad=True)
    value = surface.loss(point)
    (grad,) = torch.autograd.grad(value, point)
    if not (torch.isfinite(value) and torch.isfinite(grad).all()):
        raise ExpressionError(
            f"'{surface.text}' or its gradient is not finite at the start ({x:g}, {y:g}); pick another start"
        )
    return x, y


# ---------------------------------------------------------------------------------------------------------------
# Racing on a typed surface
# ---------------------------------------------------------------------------------------------------------------
CUSTOM_ID = "custom"
TUNING_STEPS = 200
TUNING_GRID = 16  # learning rates per optimizer, log-spaced


def _spread(values: torch.Tensor) -> bool:
    """True when most of the surface lies close to its minimum next to a few huge values (colour it by log):
    the median height above the minimum is under a tenth of the largest."""
    gap = values - values.min()
    return bool(torch.quantile(gap, 0.5) < 0.1 * gap.max())


def surface_landscape(surface: Surface, bounds, start, tuned=None) -> Landscape:
    """A ``descent_core.Landscape`` for a typed surface, after checking it over the region and at the start.

    ``minimum_value`` is the lowest value on a grid over the bounds (the true minimum may lie a little lower, or
    outside); ``tuned`` maps optimizer ids to hyperparameters, for example from ``tune_surface``.
    """
    bounds = check_bounds(bounds)
    check = validate_surface(surface, bounds)
    x, y = check_start(surface, start)
    (x0, x1), (y0, y1) = bounds
    if not (x0 <= x <= x1 and y0 <= y <= y1):
        raise ExpressionError(f"the start ({x:g}, {y:g}) lies outside the region x in [{x0:g}, {x1:g}], "
                              f"y in [{y0:g}, {y1:g}]")
    with torch.no_grad():
        values = surface.loss(_grid(bounds))
    return Landscape(
        id=CUSTOM_ID,
        name="Your surface",  # the formula goes in ``formula`` and ``description``: names are shown as Markdown
        loss=surface.loss,
        start=(x, y),
        bounds=bounds,
        tuned=dict(tuned or {}),
        description=f"f(x, y) = {surface.canonical}, typed by you.",
        formula=surface.to_latex(),
        log_scale=_spread(values[torch.isfinite(values)]),
        minimum_value=check.low,
    )


def tune_surface(landscape: Landscape, optimizers=None, steps: int = TUNING_STEPS,
                 points: int = TUNING_GRID) -> dict[str, dict[str, float]]:
    """Pick each optimizer's learning rate on a typed surface (``descent_core.tuning``, a shorter sweep)."""
    return tune(landscape, optimizers, steps=steps, points=points)
