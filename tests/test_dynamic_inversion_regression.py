"""The authors' nonlinear regression (task ``dynamic_inversion_regression``, scenario
``dynamic-inversion-regression``), checked against the independent oracle ``tests/oracles/dynamic_inversion_nets.py``:

- the task's NumPy baselines replay the oracle, run on the authors' draws, exactly (BP, FA, PBP, NDI, none);
- the authors' feedback optimisation gives a stable controller from their small random draws;
- the Brian2 network follows the oracle's forward-Euler dynamic inversion (the authors' DI) update by update:
  the same training error and the same angle of every update to backprop's;
- refusals: the raw random feedback (unstable) and a time step other than tau/2;
- the negative control without a backward phase fails the learning claims; the long test runs the whole scenario.
"""

from pathlib import Path

import numpy as np
import pytest

import dynamic_inversion_nets as oracle
from spikelearn.errors import BuildError
from spikelearn.tasks.podlaski2020 import controller as ctl
from spikelearn.tasks.podlaski2020 import regression as reg

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "dynamic_inversion_regression.toml"
STEPS = 2006 * 0.005  # one example, seconds


def _run(registry, tmp_path, overrides=()):
    from spikelearn.runner import run_scenario
    from spikelearn.scenario import load_scenario

    sc = load_scenario(SCENARIO, registry, overrides=list(overrides))
    return run_scenario(sc, registry, out_root=tmp_path / "runs", progress=False)


@pytest.mark.parametrize("method, feedback, alpha", [("bp", None, 0.0), ("fa", "random", 0.0), ("pbp", None, 0.0),
                                                     ("ndi", "neg_transpose", 0.01), ("ndi", "neg_transpose", 0.001),
                                                     ("none", None, 0.0)])
def test_baselines_replay_the_oracle_on_the_authors_draws(method, feedback, alpha):
    n = 300
    problem = reg.authors_problem(2, n)
    B = reg.feedback_matrices(problem, feedback) if feedback else None
    ours = reg.train(problem, method, alpha=alpha, B=B, deriv_power=2, eval_every=50)
    theirs = oracle.run(method, seed=2, n=n, alpha=alpha, deriv_power=2, draws="authors", eval_every=50)
    assert ours["errors"][-1] == pytest.approx(theirs["error_final"], rel=1e-12)
    np.testing.assert_allclose(ours["angles"], theirs["angles"], atol=1e-9)


def test_optimised_feedback_is_stable_and_random_draws_are_not():
    problem = reg.authors_problem(1, 10)
    B1, B2 = reg.feedback_matrices(problem, "optim")
    for W, B in ((problem.student[1], B1), (problem.student[2], B2)):
        assert ctl.spectral_abscissa(ctl.controller_jacobian(W, B, 0.0)) < 0  # the authors stop at 2000 steps
    large = reg.feedback_matrices(problem, "random")
    assert ctl.spectral_abscissa(ctl.controller_jacobian(problem.student[1], large[0], 0.01)) > 0


def test_brian2_follows_the_authors_euler_inversion_update_by_update(registry, tmp_path):
    from spikelearn.tasks.podlaski2020.nonlinear import DynamicInversionRegression

    n = 6
    result = _run(registry, tmp_path, [f'duration="{n * STEPS:.3f}*second"', 'device="runtime"',
                                       'device_options.target="numpy"', "task.parameters.eval_every=1"])
    from spikelearn.results import RunResult

    ours = DynamicInversionRegression().brian(RunResult(result.path))
    theirs = oracle.run("di", seed=1, n=n, alpha=0.01, deriv_power=1, draws="authors", eval_every=1)
    np.testing.assert_allclose(ours["errors"], theirs["error_curve"], rtol=1e-9)
    np.testing.assert_allclose(ours["angles"][:-1], theirs["angles"][:-1], atol=1e-6)
    assert ours["errors"][-1] < ours["errors"][0]


@pytest.mark.parametrize("overrides, message", [
    (['task.parameters.feedback="random"'], "inversion of W1 is unstable"),
    (['dt="2*ms"'], "dt must be tau/2"),
])
def test_refusals(registry, tmp_path, overrides, message):
    with pytest.raises(BuildError, match=message):
        _run(registry, tmp_path, [f'duration="{2 * STEPS:.3f}*second"', 'device="runtime"',
                                  'device_options.target="numpy"', *overrides])


@pytest.mark.long
def test_scenario_claims_and_no_backward_control(registry, tmp_path):
    result = _run(registry, tmp_path)
    assert result.all_passed, result.claims
    control = _run(registry, tmp_path, ["task.parameters.backward=false"])
    failed = {c["name"] for c in control.claims if not c["passed"]}
    assert {"di_aligns_with_bp", "di_error_below_fa"} <= failed
