"""Domain exceptions.

Every error a user can cause derives from `SpikelearnError`; the CLI prints its message on one line and
exits with status 1 (a traceback only with ``--debug``).
"""

__all__ = [
    "SpikelearnError",
    "ScenarioError",
    "PluginError",
    "BuildError",
    "SimulationError",
    "RunInterrupted",
    "OutputError",
    "SimulationStopped",
]


class SpikelearnError(Exception):
    """Base class of all errors caused by user input or by a failed run."""


class ScenarioError(SpikelearnError):
    """A scenario file (or an override) is invalid.

    The message always names the file and the dotted key path, e.g.
    ``scenarios/x.toml: connections.c.plasticity.tau_pre: expected a time, got '20*mV'``.
    """

    def __init__(self, source, key, message):
        self.source = str(source)
        self.key = key
        self.message = message
        where = f"{self.source}: {key}: " if key else f"{self.source}: "
        super().__init__(where + message)


class PluginError(SpikelearnError):
    """A model, plasticity plugin or task is broken, duplicated or unknown.

    Keeps a reference to the offending plugin (``plugin``) when there is one.
    """

    def __init__(self, message, plugin=None):
        self.plugin = plugin
        super().__init__(message)


class BuildError(SpikelearnError):
    """The scenario is valid but cannot be turned into a network (e.g. an unstable system, a
    compile failure, a device that cannot do what the scenario asks)."""


class SimulationError(SpikelearnError):
    """The simulation stopped early because a state variable became NaN/Inf or ran away."""


class RunInterrupted(SpikelearnError):
    """The run was interrupted (Ctrl-C or SIGTERM); its run directory was kept, marked incomplete."""


class OutputError(SpikelearnError):
    """An output (a report and its figures, an exported file) cannot be written where it was asked to
    go (or where it goes by default); ``path`` is the folder or file that could not be written."""

    def __init__(self, message, path):
        self.path = str(path)
        super().__init__(message)


class SimulationStopped(KeyboardInterrupt):
    """The simulation ended before its planned duration: a signal stopped it (Ctrl-C, SIGTERM), its
    build was interrupted, or the standalone program was killed.

    ``reason`` says which; ``t_end`` is the simulated time reached in seconds (``None`` when unknown);
    ``recorded`` says whether the monitors hold what was recorded up to then (a stopped standalone
    program writes its results, a killed one does not).
    """

    def __init__(self, reason, t_end=None, recorded=True):
        super().__init__(reason)
        self.reason = reason
        self.t_end = t_end
        self.recorded = recorded


def keep_brian_from_blaming_itself():
    """Importing Brian2 installs an excepthook that calls any uncaught exception a possible Brian 2 bug
    and points to a debug log. An uncaught `SpikelearnError` (a user's error or a failed run, in a
    script using the Python API) is neither: it gets Python's own traceback. Called after Brian2 is
    imported; other exceptions still reach Brian2's hook."""
    import sys

    hook = sys.excepthook
    if getattr(hook, "spikelearn", False):
        return

    def excepthook(exc_type, exc, tb):
        if issubclass(exc_type, SpikelearnError):
            sys.__excepthook__(exc_type, exc, tb)
        else:
            hook(exc_type, exc, tb)

    excepthook.spikelearn = True
    sys.excepthook = excepthook

