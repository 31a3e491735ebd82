"""Learned dendritic priors (Lyo & Savin, ICLR 2024): the gated swiss-roll tree and the digits tree.

Checked against numbers worked out independently of the samplers: the Brian2 tree (d coordinates,
gated inputs, the Langevin control's fixed noise level) against the NumPy forward pass at random states;
the importance-weighted reference against the likelihood; the whitened PCA space and the Fréchet distance
against their definitions; training from a seed is reproducible through the command. The scenarios' claims
(cpp) are in tests/test_dendritic.py's style below, as short forms and `long` full runs.
"""

import subprocess
import sys

import numpy as np
import pytest

from spikelearn.tasks.lyo2024 import learned
from spikelearn.tasks.lyo2024 import mixtures as ref
from spikelearn.tasks.lyo2024.learned_tasks import lag1_residual_correlation
from spikelearn.tasks.lyo2024.task import gate_sequence, pattern_samples


@pytest.fixture(scope="module")
def dreg():
    from spikelearn.registry import default_registry

    return default_registry()


def _tree_group(dreg, params, x, inputs=(), phase_u=None, soma_params=None):
    """The Brian2 soma group (runtime, NumPy target) of a tree at states ``x`` after one step at t = 0."""
    from brian2 import defaultclock, ms, prefs

    from spikelearn.build import build_network
    from spikelearn.plugin import Task
    from spikelearn.scenario import parse_scenario
    from spikelearn.tasks.lyo2024.task import build_tree

    prefs.codegen.target = "numpy"
    defaultclock.dt = 0.1 * ms
    n, d = x.shape

    class Tree(Task):
        name = "tree"
        description = "the dendritic tree of one population"

        def prepare(self, ctx):
            build_tree(ctx, "soma", params, 100 * ms, inputs=inputs, phase_u=phase_u)
            ctx.net.populations["soma"].initial.update({f"x{i + 1}": x[:, i] for i in range(d)})

    data = {"name": "tree", "dt": "0.1*ms", "duration": "0.1*ms", "device": "runtime",
            "populations": {"soma": {"model": "dendritic_tree_soma", "size": n,
                                     "parameters": {"period": "100*ms", "x_init": "0", "dimensions": d,
                                                    **(soma_params or {})}}},
            "record": {"spikes": []}}
    sc = parse_scenario(data, "<tree>", dreg)
    net, ctx = build_network(sc, dreg, Tree())
    net.run(defaultclock.dt)
    return ctx.groups["soma"]


def _tree_eps(dreg, params, x, **kwargs):
    group = _tree_group(dreg, params, x, **kwargs)
    return np.stack([getattr(group, f"eps{i + 1}")[:] for i in range(x.shape[1])], axis=1)


def _random_tree(rng, hidden, d, n_cond):
    params = ref._init_params(rng, hidden, d, n_cond)
    for k in list(params):
        if k.startswith("b"):
            params[k] = rng.normal(0, 0.5, size=params[k].shape)
    return params


def test_brian2_tree_with_gated_inputs_matches_numpy(dreg):
    """A 3-coordinate tree whose first layer also reads two input expressions: the eps the soma receives
    equals the NumPy forward pass with those inputs."""
    rng = np.random.default_rng(11)
    params = _random_tree(rng, (6, 5), 3, 2)
    x = rng.normal(0, 1.2, size=(4, 3))
    got = _tree_eps(dreg, params, x, inputs=["0.7", "-1.5"])
    np.testing.assert_allclose(got, ref.denoiser_eps(params, x, 0.0, np.array([0.7, -1.5])), rtol=1e-9, atol=1e-9)


def test_brian2_langevin_control_reads_the_tree_at_its_fixed_level(dreg):
    rng = np.random.default_rng(12)
    params = _random_tree(rng, (7,), 2, 0)
    x = rng.normal(0, 1.0, size=(3, 2))
    got = _tree_eps(dreg, params, x, phase_u="(0.3)", soma_params={"schedule": "constant", "langevin_u": 0.3})
    np.testing.assert_allclose(got, ref.denoiser_eps(params, x, 0.3), rtol=1e-9, atol=1e-9)


def test_brian2_likelihood_score_is_the_gradient(dreg):
    """The authors' estimator: the gated likelihood gradients added to the tree's score at the state."""
    rng = np.random.default_rng(13)
    params = _random_tree(rng, (5,), 2, 0)
    x = rng.normal(0, 1.0, size=(5, 2))
    y, c = 0.5, -1.0
    k = c / learned.CONTEXT_TAU
    lik = [f"({y!r} - x1)/{learned.SENSORY_SIGMA**2!r}", f"{k!r}*(1 - 1/(1 + exp(-{k!r}*x2)))"]
    group = _tree_group(dreg, params, x, soma_params={"likelihood_score": lik})
    s = np.stack([group.s1[:], group.s2[:]], axis=1)
    expected = -ref.denoiser_eps(params, x, 0.0) / np.sqrt(1e-6) + learned.likelihood_gradient(x, 1, y, 1, c)
    np.testing.assert_allclose(s, expected, rtol=1e-9)


def test_tree_with_wrong_input_count_is_refused(dreg):
    from spikelearn.errors import BuildError

    params = _random_tree(np.random.default_rng(0), (4,), 2, 2)
    with pytest.raises(BuildError, match="2 phase inputs"):
        _tree_eps(dreg, params, np.zeros((2, 2)), inputs=["1"])


def test_reference_posterior_follows_the_likelihood():
    y = 0.5
    prior, _ = learned.reference_posterior(20000, 1, 0, y, 0, 1)
    sensory, ess = learned.reference_posterior(20000, 1, 1, y, 0, 1)
    context, _ = learned.reference_posterior(20000, 1, 0, y, 1, 1)
    assert ess > 5000
    # sensory: x1 concentrates around the observation (sd below the likelihood's, data between arms)
    assert abs(np.median(sensory[:, 0]) - y) < 0.3
    assert sensory[:, 0].std() < 0.3 < prior[:, 0].std()
    # context c = +1: mostly the upper half-plane
    assert np.mean(context[:, 1] > 0) > 0.85 > np.mean(prior[:, 1] > 0)
    x = np.array([[0.5, 0.0], [0.75, 1.0]])
    w = learned.likelihood_weights(x, 1, y, 1, -1)
    expected = np.exp(-0.5 * (x[:, 0] - y) ** 2 / learned.SENSORY_SIGMA**2) / (1 + np.exp(x[:, 1] / learned.CONTEXT_TAU))
    np.testing.assert_allclose(w, expected)


def test_gated_training_inputs_follow_the_generative_model():
    rng = np.random.default_rng(3)
    x0 = ref.swiss_roll(40000, rng)
    c = learned.draw_gated_inputs(rng, x0)
    g_s, g_c = c[:, 1], c[:, 3]
    assert set(np.unique(g_s)) == {0.0, 1.0} and abs(g_s.mean() - 0.5) < 0.02
    on = g_s == 1
    resid = c[on, 0] - x0[on, 0]
    assert abs(resid.std() - learned.SENSORY_SIGMA) < 0.01
    assert np.all(c[~on, 0] == 0)
    cue = c[g_c == 1, 2]
    p_up = ref._sigmoid(x0[g_c == 1, 1] / learned.CONTEXT_TAU)
    assert abs(np.mean(cue == 1) - p_up.mean()) < 0.02


def test_digits_pca_is_whitened_and_invertible():
    data = learned.digits_pca()
    assert data["train"].shape == (1797 - 400, learned.DIGITS_DIM)
    assert data["test"].shape == (400, learned.DIGITS_DIM)
    np.testing.assert_allclose(data["train"].std(axis=0, ddof=1), 1.0, rtol=1e-9)
    np.testing.assert_allclose(data["train"].mean(axis=0), 0.0, atol=1e-12)
    from sklearn.datasets import load_digits

    X = load_digits().data / 16.0
    recon = data["mean"] + (data["train"] * data["scale"]) @ data["components"]
    # 12 components keep most of the pixel variance
    order = np.random.default_rng(0).permutation(len(X))[400:]
    resid = np.mean((X[order] - recon) ** 2) / np.mean((X[order] - data["mean"]) ** 2)
    assert resid < 0.35


def test_frechet_distance_of_shifted_gaussians():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((200000, 3))
    shift = np.array([0.3, -0.4, 0.0])
    assert learned.frechet_distance(a, a + shift) == pytest.approx(0.25, abs=1e-9)
    b = rng.standard_normal((200000, 3)) * 2.0
    # N(0, I) vs N(0, 4 I): tr(I + 4I - 2*2I) = 3
    assert learned.frechet_distance(a, b) == pytest.approx(3.0, rel=0.01)
    assert learned.sliced_wasserstein_nd(a[:5000], a[5000:10000] + 1e-3) < 0.05


def test_pattern_samples_and_residual_correlation():
    n_cycles, chains = 13, 50
    troughs = np.zeros((n_cycles + 1, chains, 2))
    gates = gate_sequence(n_cycles)
    rng = np.random.default_rng(5)
    for k in range(n_cycles):
        troughs[k + 1] = gates[k] * 10 + rng.standard_normal((chains, 2))
    groups = pattern_samples(troughs, 1)
    assert sorted(groups) == sorted(ref.gate_patterns())
    for q, x in groups.items():
        np.testing.assert_allclose(x.mean(axis=(0, 1)), np.array(q) * 10, atol=0.5)
    # pattern means differ by 10, yet independent noise: the residual correlation is ~0
    assert abs(lag1_residual_correlation(troughs, 1)) < 0.1
    with pytest.raises(ValueError, match="complete cycle"):
        pattern_samples(troughs[:4], 1)


def test_train_denoiser_command_is_reproducible(tmp_path):
    for out in ("a", "b"):
        r = subprocess.run([sys.executable, "-m", "spikelearn.cli", "train-denoiser", "--prior", "swissroll-gated",
                            "--seed", "3", "--steps", "5", "--out", str(tmp_path / out)],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
    a = ref.load_denoiser(tmp_path / "a" / "swissroll-gated_deep_seed3.npz")
    b = ref.load_denoiser(tmp_path / "b" / "swissroll-gated_deep_seed3.npz")
    assert int(a["n_cond"]) == 4 and int(a["d"]) == 2
    for k in ("W1", "W2", "Wout", "bout"):
        np.testing.assert_array_equal(a[k], b[k])


def test_missing_tree_names_the_training_command(tmp_path, monkeypatch):
    from spikelearn.errors import BuildError

    monkeypatch.setenv("SPIKELEARN_CACHE", str(tmp_path))
    with pytest.raises(BuildError, match="spikelearn train-denoiser --prior digits --seed 7"):
        learned.load_tree("digits", "deep", 7)
    with pytest.raises(ValueError, match="prior must be one of"):
        learned.tree_path("mnist", "deep", 0)
