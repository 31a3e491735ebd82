"""Safe parsing of quantities written as strings Brian2 understands (``"20*ms"``, ``"0.01"``,
``"-1.05"``, ``"15*Hz"``, ``"2.5*nS/cm**2"``).

Strings are parsed with :mod:`ast` and evaluated over numbers, Brian2 unit names and the arithmetic
operators only; nothing is ``eval``-ed. Dimensions are checked against the declared default of a
parameter, so ``tau = "20*mV"`` for a time constant is an error naming the key. :func:`si_unit_name`
names the unit of the plain numbers a recorded quantity is saved as.
"""

import ast
import math
import operator

__all__ = ["parse_quantity", "same_dimensions", "dimension_name", "format_quantity", "si_unit_name",
           "UnitParseError"]

_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_CONSTANTS = {"pi": math.pi, "e": math.e}


class UnitParseError(ValueError):
    """A quantity string could not be parsed (the message says why)."""


def _unit_namespace():
    from brian2.units.allunits import all_units  # lazy: brian2 is slow to import

    names = {str(u): u for u in all_units}
    # common aliases that brian2 exposes as module attributes but not in all_units
    import brian2.units as bu

    for alias in ("ms", "us", "ns", "second", "Hz", "kHz", "mV", "volt", "nS", "pA", "nA", "mS",
                  "siemens", "amp", "ohm", "Mohm", "pF", "nF", "farad", "meter", "cm", "um", "metre",
                  "msecond", "usecond", "second", "minute", "hour"):
        if hasattr(bu, alias):
            names[alias] = getattr(bu, alias)
    return names


_NAMESPACE = None


def _namespace():
    global _NAMESPACE
    if _NAMESPACE is None:
        _NAMESPACE = _unit_namespace()
    return _NAMESPACE


def _evaluate(node, text):
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, text)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(
        node.value, bool
    ):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        ns = _namespace()
        if node.id in ns:
            return ns[node.id]
        raise UnitParseError(f"unknown unit '{node.id}' in {text!r}")
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left = _evaluate(node.left, text)
        right = _evaluate(node.right, text)
        try:
            return _BINOPS[type(node.op)](left, right)
        except Exception as ex:  # DimensionMismatchError, ZeroDivisionError, ...
            raise UnitParseError(f"cannot evaluate {text!r}: {ex}") from ex
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand, text))
    raise UnitParseError(f"{text!r} is not a number with units (only numbers, unit names, + - * / ** are allowed)")


def parse_quantity(value):
    """Parse a number or a quantity string into a float or a Brian2 ``Quantity``.

    >>> parse_quantity("20*ms")
    20. * msecond
    >>> parse_quantity(3)
    3
    """
    if isinstance(value, bool):
        raise UnitParseError(f"expected a number or a quantity string, got a boolean ({value})")
    if isinstance(value, (int, float)):
        return value
    if not isinstance(value, str):
        raise UnitParseError(f"expected a number or a quantity string, got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise UnitParseError("empty quantity string")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as ex:
        raise UnitParseError(f"cannot parse {value!r} as a quantity") from ex
    return _evaluate(tree, text)


def _dims(q):
    from brian2.units.fundamentalunits import get_dimensions

    return get_dimensions(q)


def same_dimensions(a, b):
    """True when quantities (or plain numbers) ``a`` and ``b`` have the same physical dimensions."""
    return _dims(a) == _dims(b)


def dimension_name(q):
    """A readable name of the dimensions of ``q`` ('a time', 'dimensionless', 'a voltage', ...)."""
    from brian2.units.fundamentalunits import DIMENSIONLESS

    d = _dims(q)
    if d is DIMENSIONLESS:
        return "a dimensionless number"
    known = {
        "second": "a time",
        "hertz": "a rate",
        "volt": "a voltage",
        "siemens": "a conductance",
        "amp": "a current",
        "farad": "a capacitance",
        "ohm": "a resistance",
    }
    import brian2.units as bu

    for unit_name, label in known.items():
        if _dims(getattr(bu, unit_name)) == d:
            return label
    return f"a quantity in {d}"


def si_unit_name(dim):
    """Brian2's name of the coherent SI unit of the dimensions ``dim`` (``"1"`` when dimensionless).

    ``numpy.asarray`` of a Brian2 quantity gives its value in this unit, as the run directory saves
    recorded variables. A named SI unit is used where one exists (``"volt"``, ``"siemens"``); other
    dimensions are written in base units (``"metre ** 2 * kilogram * second ** -4 * amp ** -1"`` for volt
    per second). Unlike Brian2's ``get_unit``, the name never depends on which units were used before.

    Examples
    --------
    >>> from brian2 import mV, ms, nS
    >>> si_unit_name(nS.dim), si_unit_name((mV / ms).dim)
    ('siemens', 'metre ** 2 * kilogram * second ** -4 * amp ** -1')
    """
    from brian2.units.fundamentalunits import Unit, standard_unit_register

    if dim.is_dimensionless:
        return "1"
    return repr(standard_unit_register.units_for_dimensions[dim].get(1.0) or Unit(1.0, dim=dim))


def format_quantity(q):
    """A string that :func:`parse_quantity` reads back to the same value (for resolved scenarios)."""
    if isinstance(q, (int, float)):
        return q
    from brian2.units.fundamentalunits import DIMENSIONLESS, Quantity

    if isinstance(q, Quantity) and q.dim is DIMENSIONLESS:
        return float(q)
    unit = q.get_best_unit()
    return f"{float(q / unit)!r}*{unit}"
