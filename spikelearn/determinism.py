"""Random draws in an order that does not depend on the process.

Brian2 2.10's explicit state updaters (``euler``, ``heun``, ``milstein``, ...) draw one ``randn()`` per
noise term of a group, in the iteration order of ``Equations.stochastic_variables``, a ``set`` of
strings: its order follows the hash seed of the Python process (``PYTHONHASHSEED``). A model with two or
more noise terms (``xi_1``, ``xi_2``) therefore drew them in another order from one process to the next,
and a run did not repeat from its ``scenario.toml`` in a new process. :func:`ordered_noise` makes the set
iterate in sorted order while a network is built and run (it does not change which numbers are drawn,
only which term receives each), and restores Brian2 afterwards.
"""

from contextlib import contextmanager

__all__ = ["ordered_noise", "SortedIterationSet"]

class SortedIterationSet(set):
    """A set that iterates in sorted order (set operations return plain sets)."""

    def __iter__(self):
        return iter(sorted(set.__iter__(self)))


@contextmanager
def ordered_noise():
    """While active, ``Equations.stochastic_variables`` iterates in sorted order (``xi_1`` before ``xi_2``)."""
    from brian2.equations.equations import Equations

    original = Equations.__dict__["stochastic_variables"]
    Equations.stochastic_variables = property(lambda self: SortedIterationSet(original.fget(self)),
                                              doc=original.__doc__)
    try:
        yield
    finally:
        Equations.stochastic_variables = original
