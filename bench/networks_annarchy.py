"""The benchmark networks of ``bench/networks.py`` written with ANNarchy's API (ANNarchy 5), for the
``peers`` part of ``bench/run.py``. Optional: ANNarchy is not a spikelearn dependency
(``.venv/bin/pip install ANNarchy``; it generates C++ and compiles it with g++).

Same parameters as the Brian2 networks, dt = 0.1 ms, explicit (forward) Euler, one thread. Differences
that ANNarchy imposes or makes natural (stated in the results):

- Inputs of the song network: ``inputs="poisson"`` is ANNarchy's ``PoissonPopulation`` (one uniform
  random number per input per step, like Brian2's ``PoissonGroup``); ``inputs="exponential"`` is a
  ``SpikeSourceArray`` of exponential intervals drawn with NumPy before the run (no random numbers in
  the loop, like spikelearn's default input, which draws one number per spike). ANNarchy cannot draw
  a random number in a reset statement (``Uniform`` there does not compile in 5.0.4.1), so the
  spikelearn input cannot be written as an ANNarchy neuron without a per-step draw.
- Transmission: ANNarchy delivers a spike emitted in step ``n`` in step ``n + 1`` (its minimum delay is
  one dt), Brian2 in the same step (``on_pre`` runs after the threshold of that step).
- Random initial values (weights, potentials) are drawn from the network's seeded generator
  (``net.default_rng``): ANNarchy's ``Uniform`` is unseeded otherwise.
- Synaptic traces are ``event-driven`` (updated analytically at the synapse's events, as in Brian2).
"""

from networks import COBA, SONG  # the parameters of the Brian2 and NEST versions (bench/ on sys.path)

__all__ = ["song", "coba"]


def _stdp(ann, tau_pre, tau_post, A_pre, depression_ratio, wmax):
    """Additive STDP with hard bounds, event-driven traces: spikelearn's ``stdp_additive``."""
    return ann.Synapse(
        parameters=f"""
            tau_pre = {tau_pre} : projection
            tau_post = {tau_post} : projection
            d_pre = {A_pre * wmax} : projection
            d_post = {-depression_ratio * A_pre * wmax * tau_pre / tau_post} : projection
            wmax = {wmax} : projection
        """,
        equations="""
            tau_pre * dApre/dt = -Apre : event-driven
            tau_post * dApost/dt = -Apost : event-driven
        """,
        pre_spike="""
            g_target += w
            Apre += d_pre
            w = clip(w + Apost, 0.0, wmax)
        """,
        post_spike="""
            Apost += d_post
            w = clip(w + Apre, 0.0, wmax)
        """,
        name="stdp_additive")


def _network(ann, seed, threads=1):
    net = ann.Network(dt=0.1, seed=seed)
    net.config(num_threads=threads)
    return net


def song(n_in=1000, n_out=1, seed=1, inputs="poisson", storage_order=None, duration_ms=1000.0, storage_format=None):
    """The song network; return ``(network, spike monitors by name, projection)``. ``storage_format``,
    ``storage_order``: ANNarchy's sparse matrix format (``"lil"``, ``"csr"``, ...) and storage order
    (``"post_to_pre"``, ``"pre_to_post"``) of the plastic projection (``None``: ANNarchy's defaults)."""
    import ANNarchy as ann

    p = SONG
    net = _network(ann, seed)
    if inputs == "poisson":
        inp = net.create(ann.PoissonPopulation(n_in, rates=p["rate_hz"], name="inputs"))
    else:  # exponential intervals drawn beforehand (NumPy, seeded): no random numbers in the loop
        import numpy as np

        rng = np.random.default_rng(seed)
        mean_ms = 1000.0 / p["rate_hz"]
        times = []
        for _ in range(n_in):
            t = np.cumsum(rng.exponential(mean_ms, int(duration_ms / mean_ms * 1.5) + 50))
            # ANNarchy emits at the step containing the time; at most one spike per neuron per step
            steps = np.unique(np.ceil(t[t < duration_ms] / 0.1).astype(np.int64))
            times.append((steps * 0.1).tolist())
        inp = net.create(ann.SpikeSourceArray(spike_times=times, name="inputs"))
    neuron = ann.Neuron(
        parameters=f"""
            tau_m = {p['tau_m_ms']}
            tau_e = {p['tau_e_ms']}
            E_l = {p['E_l_mV']}
            E_e = {p['E_e_mV']}
            v_t = {p['v_t_mV']}
            v_r = {p['v_r_mV']}
        """,
        equations=f"""
            tau_m * dv/dt = g_exc*(E_e - v) + E_l - v : init = {p['v_r_mV']}
            tau_e * dg_exc/dt = -g_exc
        """,
        spike="v > v_t", reset="v = v_r", name="lif_cond")
    out = net.create(n_out, neuron, name="out")
    syn = _stdp(ann, p["tau_pre_ms"], p["tau_post_ms"], p["A_pre"], p["depression_ratio"], p["wmax"])
    proj = net.connect(inp, out, "exc", synapse=syn, name="inputs_to_out")
    proj.all_to_all(weights=ann.Uniform(0.0, p["wmax"], rng=net.default_rng), storage_format=storage_format, storage_order=storage_order)
    mons = {"inputs": net.monitor(inp, "spike"), "out": net.monitor(out, "spike")}
    return net, mons, proj


def coba(seed=1):
    """The COBA network with STDP on E->E; return ``(network, spike monitors by name)``."""
    import ANNarchy as ann

    c = COBA
    net = _network(ann, seed)
    neuron = ann.Neuron(
        parameters=f"""
            tau_m = {c['tau_m']}
            tau_e = {c['tau_e']}
            tau_i = {c['tau_i']}
            E_l = {c['E_l']}
            E_e = {c['E_e']}
            E_i = {c['E_i']}
            v_t = {c['v_t']}
            v_r = {c['v_r']}
        """,
        equations="""
            tau_m * dv/dt = g_exc*(E_e - v) + g_inh*(E_i - v) + E_l - v
            tau_e * dg_exc/dt = -g_exc
            tau_i * dg_inh/dt = -g_inh
        """,
        spike="v > v_t", reset="v = v_r", refractory=c["t_ref"], name="lif_cond_ei")
    exc = net.create(c["sizes"]["exc"], neuron, name="exc")
    inh = net.create(c["sizes"]["inh"], neuron, name="inh")
    for pop in (exc, inh):
        pop.v = ann.Uniform(c["v_r"], c["v_t"], rng=net.default_rng)
    s = c["stdp"]
    ee = net.connect(exc, exc, "exc", synapse=_stdp(ann, **s), name="ee")
    ee.fixed_probability(c["p"], weights=c["w_e"], allow_self_connections=True)
    for name, src, tgt, target, w in (("ei", exc, inh, "exc", c["w_e"]), ("ie", inh, exc, "inh", c["w_i"]),
                                      ("ii", inh, inh, "inh", c["w_i"])):
        proj = net.connect(src, tgt, target, name=name)
        proj.fixed_probability(c["p"], weights=w, allow_self_connections=True)
    mons = {"exc": net.monitor(exc, "spike"), "inh": net.monitor(inh, "spike")}
    return net, mons


def spike_count(monitor):
    """Number of spikes a spike monitor recorded."""
    return int(sum(len(times) for times in monitor.get("spike").values()))
