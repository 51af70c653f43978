"""Spec strings: one readable line for any schedule, parsed safely.

A spec is a Python call expression: ``cosine(init=0.1, steps=1000, end=1e-5)``,
``warmup(cosine(init=0.1, steps=900), steps=100)``, ``join([...], at=[...])``, a torch
name with torch's parameters, ``StepLR(lr=0.1, step_size=30, gamma=0.5)``, or another
library's name under its prefix, with that library's keywords:
``hf.cosine(lr=3e-4, num_warmup_steps=100, num_training_steps=1000)`` (`lrlab.from_hf`),
``timm.cosine(lr=0.1, num_epochs=100)`` (`lrlab.from_timm`),
``keras.CosineDecay(initial_learning_rate=0.1, decay_steps=1000)`` (`lrlab.from_keras`).
A prefix is a name, never an attribute lookup: ``hf.cosine`` is one spec name. It is parsed
with `ast` and checked node by node against a whitelist (calls of known names, keyword
arguments, numbers, strings, booleans, ``None``, lists and simple arithmetic on numbers);
nothing is ever evaluated by Python. `format` gives the canonical spec (also the
schedule's ``repr``), and ``parse(format(s)) == s`` for every schedule.

>>> import lrlab
>>> s = lrlab.parse("warmup(cosine(init=0.1, steps=900, end=1e-5), steps=100)")
>>> s(100)
0.1
>>> lrlab.parse("StepLR(lr=0.1, step_size=30, gamma=0.5)")
step(init=0.1, period=30, gamma=0.5)
>>> lrlab.parse("keras.ExponentialDecay(initial_learning_rate=0.1, decay_steps=10, "
...             "decay_rate=0.5, staircase=True)")
step(init=0.1, period=10, gamma=0.5)
>>> lrlab.parse("cosin(init=0.1, steps=10)")
Traceback (most recent call last):
...
lrlab.spec.SpecError: column 1: unknown schedule 'cosin'; did you mean 'cosine'?
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import inspect
import math
import operator
from collections.abc import Callable
from typing import Any

from lrlab.schedules import Schedule, families
from lrlab.schedules import torch_names as _torch_names
from lrlab.schedules._base import MAX_DEPTH
from lrlab.schedules.checks import ParameterError
from lrlab.schedules.namespaces import NAMESPACES
from lrlab.schedules.namespaces import names as _namespaced

MAX_LENGTH = 20_000
"""The longest spec accepted (a guard against pathological input)."""

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


class SpecError(ValueError):
    """A spec that cannot be read: says where, what and how to fix it.

    ``line`` and ``column`` are 1-based; the message starts ``column C:`` for a spec
    of one line and ``line L, column C:`` for a longer one. ``parameter`` is the
    parameter at fault when there is one (a bad value, an unknown name), else None.

    >>> import lrlab
    >>> error = SpecError("oops", spec="cosine(\\n  steps=)", line=2, column=9)
    >>> str(error)
    'line 2, column 9: oops'
    >>> print(error.pointer())
      steps=)
            ^
    """

    def __init__(
        self, message: str, *, spec: str, column: int, line: int = 1, parameter: str | None = None
    ) -> None:
        where = f"column {column}" if line == 1 else f"line {line}, column {column}"
        super().__init__(f"{where}: {message}")
        self.message = message
        self.spec = spec
        self.line = line
        self.column = column
        self.parameter = parameter

    def pointer(self) -> str:
        """The spec's line ``line`` with a caret under the column."""
        lines = self.spec.splitlines() or [""]
        text = lines[min(self.line, len(lines)) - 1]
        return f"{text}\n{' ' * (self.column - 1)}^"


def _at(spec: str, index: int) -> tuple[int, int]:
    """The 1-based (line, column) of character ``index`` (0-based) of ``spec``."""
    before = spec[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


def constructors() -> dict[str, Callable[..., Schedule]]:
    """Every name a spec may call: lrlab families and torch's scheduler names.

    >>> import lrlab.spec
    >>> "cosine" in lrlab.spec.constructors(), "StepLR" in lrlab.spec.constructors()
    (True, True)
    """
    names: dict[str, Callable[..., Schedule]] = dict(families())
    for name in _torch_names.__all__:
        names[name] = getattr(_torch_names, name)
    return names


def parameters(name: str) -> list[str]:
    """The parameter names of a spec constructor, in signature order.

    >>> import lrlab.spec
    >>> lrlab.spec.parameters("step")
    ['init', 'period', 'gamma']
    >>> lrlab.spec.parameters("keras.InverseTimeDecay")
    ['initial_learning_rate', 'decay_steps', 'decay_rate', 'staircase', 'name']
    """
    target = _target(name)
    if isinstance(target, type) and dataclasses.is_dataclass(target):
        return [f.name for f in dataclasses.fields(target)]
    return list(inspect.signature(target).parameters)


def format(schedule: Schedule) -> str:
    """The canonical spec of ``schedule`` (its ``repr``).

    >>> import lrlab
    >>> lrlab.spec.format(lrlab.cosine(init=0.1, steps=1000, end=1e-5))
    'cosine(init=0.1, steps=1000, end=1e-05)'
    """
    if not isinstance(schedule, Schedule):
        raise TypeError(f"format: expected a schedule, got {schedule!r}")
    return repr(schedule)


def parse(spec: str) -> Schedule:
    """The schedule a spec string describes; `SpecError` (a ValueError) if there is none."""
    if not isinstance(spec, str):
        raise TypeError(f"parse: spec must be a string, got {type(spec).__name__}")
    text = spec.strip()
    if not text:
        raise SpecError(
            "empty spec; expected a schedule such as cosine(init=0.1, steps=100)",
            spec=spec,
            column=1,
        )
    if len(text) > MAX_LENGTH:
        raise SpecError(f"spec longer than {MAX_LENGTH} characters", spec=spec, column=1)
    offset = len(spec) - len(spec.lstrip())
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        lines = text.splitlines(keepends=True)
        row = min(max(error.lineno or 1, 1), max(len(lines), 1))
        index = offset + sum(len(line) for line in lines[: row - 1]) + (error.offset or 1) - 1
        line, column = _at(spec, min(index, len(spec)))
        raise SpecError(
            f"not a valid spec: {error.msg}", spec=spec, line=line, column=column
        ) from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise SpecError(f"not a valid spec: {error}", spec=spec, column=1) from None
    reader = _Reader(spec, offset, text)
    try:
        value = reader.value(tree.body)
        if not isinstance(value, Schedule):
            raise reader.error(tree.body, f"expected a schedule call, got {_text(tree.body)!r}")
    except (RecursionError, MemoryError):
        raise SpecError("spec nested too deeply", spec=spec, column=1) from None
    return value


def _text(node: ast.AST) -> str:
    """The source of ``node`` for a message, shortened."""
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:57] + "..."


class _Reader:
    """Turns whitelisted AST nodes into values; everything else is a `SpecError`."""

    def __init__(self, spec: str, offset: int, text: str) -> None:
        self.spec = spec
        self.offset = offset
        self.lines = text.splitlines(keepends=True)
        self.names = {**constructors(), **_namespaced()}
        self.depth = 0

    def error(self, node: ast.AST, message: str, parameter: str | None = None) -> SpecError:
        """A `SpecError` at ``node``: its column counts characters from the spec's start."""
        line = getattr(node, "lineno", 1)
        byte = getattr(node, "col_offset", 0)  # ast counts UTF-8 bytes within the line
        before = sum(len(text) for text in self.lines[: line - 1])
        within = len(self.lines[line - 1].encode()[:byte].decode(errors="ignore"))
        row, column = _at(self.spec, self.offset + before + within)
        return SpecError(message, spec=self.spec, line=row, column=column, parameter=parameter)

    def value(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool | int | float | str) or node.value is None:
                return node.value
            raise self.error(node, f"unsupported constant {node.value!r}")
        if isinstance(node, ast.List | ast.Tuple):
            return [self.value(item) for item in node.elts]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = self.number(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return self.arithmetic(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.BinOp | ast.UnaryOp):
            symbol = _OPERATORS.get(type(node.op), type(node.op).__name__)
            raise self.error(
                node,
                f"the operator {symbol!r} is not allowed in a spec; "
                "arithmetic on numbers may use + - * / ** only",
            )
        called = _called(node)
        if called in self.names:
            needed = [p for p in parameters(called) if p not in _optional(called)]
            call = f"{called}({', '.join(f'{p}=...' for p in needed)})"
            raise self.error(node, f"{called!r} needs its parameters: {call}")
        if isinstance(node, ast.Name):
            hint = self.closest(node.id)
            raise self.error(node, f"unknown name {node.id!r}{hint}; names are not values here")
        raise self.error(
            node,
            f"{_describe(node)} is not allowed in a spec; expected a number, a string, "
            "a list or a schedule call",
        )

    def number(self, node: ast.expr) -> int | float:
        value = self.value(node)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(node, f"expected a number, got {_text(node)!r}")
        return value

    def arithmetic(self, node: ast.BinOp) -> int | float:
        left, right = self.number(node.left), self.number(node.right)
        if isinstance(node.op, ast.Pow) and (abs(right) > 64 or abs(left) > 1e6):
            raise self.error(node, f"power too large in {_text(node)!r}")
        try:
            result = _BINARY[type(node.op)](left, right)
        except (ZeroDivisionError, OverflowError) as error:
            raise self.error(node, f"cannot compute {_text(node)!r}: {error}") from None
        try:
            finite = not isinstance(result, complex) and math.isfinite(result)
        except OverflowError:
            finite = False
        if not finite:
            raise self.error(node, f"{_text(node)!r} is not a finite number")
        return result  # type: ignore[no-any-return]

    def closest(self, name: str) -> str:
        lowered = {n.lower(): n for n in self.names}
        if name.lower() in lowered:
            matches = [lowered[name.lower()]]
        else:
            matches = difflib.get_close_matches(name, list(self.names), n=1, cutoff=0.6)
        return f"; did you mean {matches[0]!r}?" if matches else ""

    def call(self, node: ast.Call) -> Schedule:
        name = _called(node.func)
        if name is None:
            raise self.error(
                node.func,
                f"{_describe(node.func)} is not allowed; expected a schedule name "
                f"(prefixed names start with {', '.join(p + '.' for p in NAMESPACES)})",
            )
        target = self.names.get(name)
        if target is None:
            hint = self.closest(name)
            if not hint:
                hint = "; run `lrlab list` for the schedules"
            raise self.error(node, f"unknown schedule {name!r}{hint}")
        if self.depth >= MAX_DEPTH:
            raise self.error(node, f"schedules nested more than {MAX_DEPTH} deep")
        self.depth += 1
        try:
            return self.build(node, name, target)
        finally:
            self.depth -= 1

    def build(self, node: ast.Call, name: str, target: Callable[..., Schedule]) -> Schedule:
        allowed = parameters(name)
        positional = getattr(target, "_positional", None)
        if len(node.args) > (1 if positional else 0):
            extra = node.args[1 if positional else 0]
            raise self.error(
                extra,
                f"{name} takes its parameters by name, like {name}({allowed[0]}=...); "
                f"parameters: {', '.join(allowed)}",
            )
        kwargs: dict[str, Any] = {}
        if node.args:
            kwargs[str(positional)] = self.value(node.args[0])
        for keyword in node.keywords:
            if keyword.arg is None:
                raise self.error(keyword.value, "** is not allowed in a spec")
            if keyword.arg not in allowed:
                close = difflib.get_close_matches(keyword.arg, allowed, n=1, cutoff=0.5)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise self.error(
                    keyword,
                    f"{name} has no parameter {keyword.arg!r}; {hint}"
                    f"parameters: {', '.join(allowed)}",
                    keyword.arg,
                )
            if keyword.arg in kwargs:
                raise self.error(keyword, f"{name}: {keyword.arg} given twice", keyword.arg)
            kwargs[keyword.arg] = self.value(keyword.value)
        try:
            return target(**kwargs)
        except (ValueError, TypeError) as error:
            parameter = error.parameter if isinstance(error, ParameterError) else None
            raise self.error(self.locate(node, error), str(error), parameter) from None

    def locate(self, node: ast.Call, error: Exception) -> ast.AST:
        """The keyword value the error names (a `ParameterError`), else the call itself."""
        if isinstance(error, ParameterError):
            for keyword in node.keywords:
                if keyword.arg == error.parameter:
                    return keyword.value
        return node


_OPERATORS: dict[type[ast.AST], str] = {
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.Not: "not",
    ast.Invert: "~",
}


def _optional(name: str) -> set[str]:
    """The parameters of a spec constructor that have defaults."""
    target = _target(name)
    if isinstance(target, type) and dataclasses.is_dataclass(target):
        return {
            f.name
            for f in dataclasses.fields(target)
            if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        }
    empty = inspect.Parameter.empty
    return {p.name for p in inspect.signature(target).parameters.values() if p.default is not empty}


def _target(name: str) -> Callable[..., Schedule]:
    """The spec constructor called ``name``: a family, a torch name or a prefixed name."""
    target = constructors().get(name)
    return _namespaced()[name] if target is None else target


def _called(func: ast.expr) -> str | None:
    """The spec name a call's function is (``cosine``, ``hf.cosine``), else None."""
    if isinstance(func, ast.Name):
        return func.id
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id in NAMESPACES
    ):
        return f"{func.value.id}.{func.attr}"
    return None


def _describe(node: ast.AST) -> str:
    kinds = {
        ast.Attribute: "attribute access",
        ast.Lambda: "a lambda",
        ast.ListComp: "a comprehension",
        ast.SetComp: "a comprehension",
        ast.DictComp: "a comprehension",
        ast.GeneratorExp: "a comprehension",
        ast.Subscript: "indexing",
        ast.Dict: "a dict",
        ast.Set: "a set",
        ast.JoinedStr: "an f-string",
        ast.Compare: "a comparison",
        ast.BoolOp: "a boolean operator",
        ast.IfExp: "a conditional expression",
        ast.NamedExpr: "an assignment expression",
        ast.Starred: "unpacking",
        ast.Await: "await",
    }
    return kinds.get(type(node), type(node).__name__)
