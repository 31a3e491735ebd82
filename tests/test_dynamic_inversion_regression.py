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
SHORT = 200  # Euler steps per inversion in the replay tests (the scenarios: 1000); the replay uses the same


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
    from spikelearn.results import RunResult
    from spikelearn.tasks.podlaski2020.nonlinear import DynamicInversionRegression

    n = 6
    result = _run(registry, tmp_path, [f'duration="{n * (2 * SHORT + 6) * 0.005:.3f}*second"', 'device="runtime"',
                                       'device_options.target="numpy"', "task.parameters.eval_every=1",
                                       f"task.parameters.inversion_steps={SHORT}"])
    ours = DynamicInversionRegression().brian(RunResult(result.path))
    theirs = oracle.run("di", seed=1, n=n, alpha=0.01, deriv_power=1, draws="authors", eval_every=1, di_steps=SHORT)
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


@pytest.mark.parametrize("override, message", [("task.parameters.average_steps=5001", "average_steps"),
                                               ("task.parameters.eval_every=10", "eval_every must be 1")])
def test_spiking_refusals(registry, tmp_path, override, message):
    from spikelearn.runner import run_scenario
    from spikelearn.scenario import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "dynamic_inversion_regression_spiking.toml", registry,
                       overrides=['duration="20.012*second"', 'device="runtime"', 'device_options.target="numpy"',
                                  override])
    with pytest.raises(BuildError, match=message):
        run_scenario(sc, registry, out_root=tmp_path / "runs", progress=False)


@pytest.mark.long
def test_scenario_claims_and_no_backward_control(registry, tmp_path):
    result = _run(registry, tmp_path)
    assert result.all_passed, result.claims
    control = _run(registry, tmp_path, ["task.parameters.backward=false"])
    failed = {c["name"] for c in control.claims if not c["passed"]}
    assert {"di_aligns_with_bp", "di_error_below_fa"} <= failed


# -- MNIST (task dynamic_inversion_mnist) ---------------------------------------------------------------
MNIST = ROOT / "scenarios" / "dynamic_inversion_mnist.toml"


def _run_mnist(registry, tmp_path, overrides=()):
    from spikelearn.runner import run_scenario
    from spikelearn.scenario import load_scenario

    sc = load_scenario(MNIST, registry, overrides=list(overrides))
    return run_scenario(sc, registry, out_root=tmp_path / "runs", progress=False)


def test_mnist_subset_split():
    from spikelearn.tasks.podlaski2020 import classification as cls

    split = cls.mnist_subset()
    assert split.x_train.shape == (784, 4000) and split.x_test.shape == (784, 1000)
    assert np.all(np.bincount(split.y_train) == 400) and np.all(np.bincount(split.y_test) == 100)
    assert abs(split.x_train.mean()) < 1e-9 and split.x_train.std() == pytest.approx(1.0)


def test_mnist_brian2_follows_the_euler_inversion_update_by_update(registry, tmp_path):
    """A 784-16-10 network, 3 examples on NumPy: Brian2's weights and per-update angles against the
    forward-Euler inversion (the oracle's, dt 0.5, as many steps) trained on the same draws."""
    from spikelearn.results import RunResult
    from spikelearn.tasks.podlaski2020 import classification as cls
    from spikelearn.tasks.podlaski2020.mnist import DynamicInversionMNIST

    n, H = 3, 16
    result = RunResult(_run_mnist(registry, tmp_path, [
        f'duration="{n * (SHORT + 6) * 0.005 + 0.005:.3f}*second"', 'device="runtime"',
        'device_options.target="numpy"', f"task.parameters.hidden={H}", "task.parameters.epochs=1",
        f"task.parameters.examples_per_epoch={n}", "task.parameters.eval_every=1",
        f"task.parameters.inversion_steps={SHORT}"]).path)
    ours = DynamicInversionMNIST().brian(result)
    split = cls.mnist_subset()
    problem = DynamicInversionMNIST._problem(1, result.params)
    W0, W1, B = problem.W0.copy(), problem.W1.copy(), -problem.W1.T
    b0, b1 = np.zeros(H), np.zeros(10)
    angles, test = [], [cls.test_error((W0, W1, b0, b1), split.x_test, split.y_test)]
    for k in problem.orders[0]:
        x = split.x_train[:, k]
        h = np.tanh(W0 @ x + b0)
        a = W1 @ h + b1
        e = -np.exp(a) / np.exp(a).sum()
        e[split.y_train[k]] += 1.0
        d = oracle.simulate_inversion(W1, B, e, 0.0, dt=0.5, steps=SHORT) * (1 - h ** 2)
        angles.append(oracle.angle_deg(d, (W1.T @ e) * (1 - h ** 2)))
        W0 += 1e-3 * np.outer(d, x) - 1e-6 * W0
        W1 += 1e-3 * np.outer(e, h) - 1e-6 * W1
        b0 += 1e-3 * d - 1e-6 * b0
        b1 += 1e-3 * e - 1e-6 * b1
        test.append(cls.test_error((W0, W1, b0, b1), split.x_test, split.y_test))
    final = result.weights("W0")
    W0_brian = np.zeros_like(W0)
    W0_brian[final["j"], final["i"]] = final["w_final"]
    np.testing.assert_allclose(W0_brian, W0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours["angles"][:n - 1], angles[:n - 1], atol=1e-6)
    np.testing.assert_allclose(ours["test_errors"], test)


def test_mnist_duration_must_match_the_examples(registry, tmp_path):
    with pytest.raises(BuildError, match=r"duration must be 5\.035\*second"):
        _run_mnist(registry, tmp_path, ['duration="5*second"', 'device="runtime"', 'device_options.target="numpy"',
                                        "task.parameters.epochs=1", "task.parameters.examples_per_epoch=1"])


@pytest.mark.long
def test_mnist_numpy_backprop_replays_the_authors_run():
    """BP on the authors' draws (seed 1, H = 256, 6 epochs): 9.7 % test, 5.8 % training error, as their script
    gave on this subset (docs/papers/podlaski2020-authors-code.md §4.2)."""
    from spikelearn.tasks.podlaski2020 import classification as cls

    split = cls.mnist_subset()
    res = cls.train(split, cls.authors_problem(1, 256, 4000, 6), "bp")
    assert res["test_errors"][-1] == pytest.approx(0.097, abs=0.0015)
    assert res["train_errors"][-1] == pytest.approx(0.058, abs=0.0015)
