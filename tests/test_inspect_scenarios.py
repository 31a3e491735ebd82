"""Every built-in scenario's figures are made without errors or warnings.

Each scenario runs shortened (runtime device, NumPy target, fewer chains/samples/blocks, a shorter
duration: the overrides below), then its figures are made exactly as ``spikelearn run`` and
``spikelearn inspect`` make them -- the standard figures, the task's figures, every analysis figure and
both report.html files -- with Python warnings turned into errors; any warning or error logged
(by spikelearn or a library that logs through the root logger) fails the test. The overrides change sizes and durations only, so the figures have the same content
as in a full run; the claims of a shortened run are not checked here (each area's tests do that).
"""

import logging
import warnings

import pytest

#: the shortened version of each built-in scenario (on top of ``COMMON``)
_BALANCED = ['duration="0.3*second"', "populations.E.size=200", "populations.I.size=50", "connections.ee.p=0.5",
             "connections.ei.p=0.5", "connections.ie.p=0.5", "connections.ii.p=0.5",
             'task.parameters.window="0.2*second"', "task.parameters.n_pairs_neurons=50"]
_ADVERSARIAL = ["task.parameters.epochs=1", "task.parameters.max_train=40", "task.parameters.max_test=40",
                "task.parameters.n_novel=20", "task.parameters.snapshots=2"]
SHORT = {
    "adversarial-digits": _ADVERSARIAL + ['duration="0.4*second"'],
    "adversarial-mnist": _ADVERSARIAL + ['duration="0.4*second"'],
    "adversarial-moving-digits": _ADVERSARIAL + ["task.parameters.frames=2", 'duration="0.8*second"'],
    "balanced-stdp": _BALANCED,
    "balanced-stdp-1e8": _BALANCED,
    "dendritic-posterior": ['duration="0.8*second"', 'dt="1*ms"', "populations.exact.size=60",
                            "populations.additive.size=60", "task.parameters.discard_cycles=0"],
    "dendritic-prior": ['duration="0.6*second"', 'dt="0.5*ms"', "populations.soma.size=60",
                        "task.parameters.readout_units=4"],
    "dendritic-prior-T50": ['duration="0.3*second"', 'dt="0.5*ms"', "populations.soma.size=60"],
    "dendritic-swissroll": ['duration="0.4*second"', 'dt="0.5*ms"', "populations.deep.size=40",
                            "populations.shallow.size=40"],
    "dendritic-swissroll-posterior": ['duration="0.6*second"', 'dt="0.5*ms"', "populations.main.size=10",
                                      "populations.fast.size=10", "populations.wrong_sign.size=10",
                                      # the additive estimator's likelihood term is stiff: unstable at dt = 0.5 ms
                                      "populations.additive.size=1", 'task.parameters.additive=""'],
    "dendritic-digits": ['duration="0.4*second"', 'dt="1*ms"', "populations.deep.size=10",
                         "populations.shallow.size=10", "populations.langevin.size=10"],
    "dynamic-inversion": ['duration="200*ms"'],
    "dynamic-inversion-mnist": ['duration="10.065*second"', "task.parameters.epochs=1",
                                "task.parameters.examples_per_epoch=2", "task.parameters.hidden=16"],
    "dynamic-inversion-mnist-1000": ['duration="10.065*second"', "task.parameters.epochs=1",
                                     "task.parameters.examples_per_epoch=2", "task.parameters.hidden=16"],
    "dynamic-inversion-regression": ['duration="20.06*second"', "task.parameters.eval_every=1"],
    "dynamic-inversion-regression-spiking": ['duration="30.018*second"', "task.parameters.eval_every=1"],
    "dynamic-inversion-spiking": ['duration="0.6*second"', 'task.parameters.average_window="0.2*second"'],
    "nudged-gradient": ['duration="1*second"', "task.parameters.n_samples=3"],
    "nudged-gradient-mnist": ['duration="0.44*second"', "task.parameters.n_samples=3", "task.parameters.n_hidden=20"],
    "nudged-train": ['dt="2.5*ms"', 'phases.durations=["10*ms", "2.5*ms"]', 'duration="22.5*second"',
                     "task.parameters.epochs=1"],
    "nudged-train-mnist": ["task.parameters.n_hidden=20", "task.parameters.n_train_per_class=5",
                           "task.parameters.n_test_per_class=5", "task.parameters.epochs=1", 'duration="11.11*second"'],
    "poisson-sampling": ['duration="1.5*second"', 'task.parameters.discard="0.5*second"'],
    "poisson-sampling-coupled": ['duration="1.5*second"', 'task.parameters.discard="0.5*second"'],
    "poisson-sampling-prior-match": ['duration="1.5*second"', 'task.parameters.discard="0.5*second"'],
    "poisson-sampling-input": ['duration="1.5*second"', 'task.parameters.discard="0.5*second"'],
    "reward-discrimination": ['populations.rates.size=5', 'task.parameters.n_trials=1', 'task.parameters.t_trial="20*second"',
                          'task.parameters.t_hold="5*second"', 'task.parameters.t_transient="2*second"',
                          'task.parameters.t_test_settle="1*second"', 'task.parameters.n_test_angles=4',
                          'task.parameters.n_repeats=2', 'duration="100*second"'],
    "reward-discrimination-k10": ['populations.rates.size=5', 'task.parameters.n_trials=1', 'task.parameters.t_trial="20*second"',
                          'task.parameters.t_hold="5*second"', 'task.parameters.t_transient="2*second"',
                          'task.parameters.t_test_settle="1*second"', 'task.parameters.n_test_angles=4',
                          'task.parameters.n_repeats=2', 'duration="100*second"'],
    "reward-estimation": ['populations.rates.size=5', 'task.parameters.n_trials=1', 'task.parameters.t_trial="20*second"',
                          'task.parameters.t_hold="5*second"', 'task.parameters.t_transient="2*second"',
                          'task.parameters.t_test_settle="1*second"', 'task.parameters.n_test_angles=4',
                          'task.parameters.n_repeats=2', 'duration="100*second"'],
    "reward-estimation-prior-change": ['populations.rates.size=5', 'task.parameters.n_trials=1', 'task.parameters.n_trials_shift=1', 'task.parameters.t_trial="20*second"',
                          'task.parameters.t_hold="5*second"', 'task.parameters.t_transient="2*second"',
                          'task.parameters.t_test_settle="1*second"', 'task.parameters.n_test_angles=4',
                          'task.parameters.n_repeats=2', 'duration="180*second"'],
    "reward-estimation-k10": ['populations.rates.size=5', 'task.parameters.n_trials=1', 'task.parameters.t_trial="20*second"',
                          'task.parameters.t_hold="5*second"', 'task.parameters.t_transient="2*second"',
                          'task.parameters.t_test_settle="1*second"', 'task.parameters.n_test_angles=4',
                          'task.parameters.n_repeats=2', 'duration="100*second"'],
    "song-stdp": ['duration="2*second"'],
    "stdp-window-dvdt": ["populations.post.size=200", "populations.post_slow.size=200"],
    "stdp-window-gradient": ['duration="2*second"', "task.parameters.n_pairings=2"],
    "stdp-window-ou": ['duration="10*second"', "task.parameters.n_blocks=2"],
}
COMMON = ['device="runtime"', 'device_options.target="numpy"']


def test_every_builtin_scenario_has_a_short_version():
    from spikelearn.scenario import builtin_scenarios

    assert sorted(SHORT) == sorted(builtin_scenarios())


@pytest.mark.long
@pytest.mark.filterwarnings("error::RuntimeWarning")  # the run too: no overflow or invalid value in NumPy code
@pytest.mark.parametrize("name", sorted(SHORT))
def test_scenario_figures_without_errors_or_warnings(name, tmp_path, caplog):
    from spikelearn.analysis import inspect_run
    from spikelearn.analysis._io import spike_recorders, weight_recorders
    from spikelearn.analysis.correlations import silence_upstream_warnings
    from spikelearn.plugin import Task
    from spikelearn.registry import default_registry
    from spikelearn.results import RunResult
    from spikelearn.runner import make_figures, run_scenario, write_run_report
    from spikelearn.scenario import load_scenario

    registry = default_registry()
    scenario = load_scenario(name, registry, COMMON + SHORT[name])
    outcome = run_scenario(scenario, registry, out_root=tmp_path, progress=False, figures=False)
    result = RunResult(outcome.path)
    task = registry.get("tasks", scenario.task) if scenario.task else None
    caplog.clear()
    caplog.set_level(logging.WARNING, logger="spikelearn")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        silence_upstream_warnings()
        made = [p.name for p in make_figures(result, task)]  # as at the end of `spikelearn run`
        run_report = write_run_report(outcome.path)
        report = inspect_run([outcome.path])  # as `spikelearn inspect RUN`
    logged = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING]
    assert not logged, logged
    for pop in spike_recorders(result):
        assert f"raster_{pop}.png" in made
    for conn in weight_recorders(result):
        assert f"weights_{conn}.png" in made
    task_made = [n for n in made if not n.startswith(("raster_", "weights_"))]
    if task is not None and type(task).figures is not Task.figures:
        assert task_made, f"task {scenario.task} draws figures but made none"
    assert run_report.read_text().count("<img ") == len(made)
    assert report.read_text().count("<img ") >= len(made)
    assert all(p.stat().st_size > 2000 for p in (outcome.path / "figures").iterdir())
