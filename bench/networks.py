"""The benchmark networks written directly in Brian2 (and in NEST), the way a Brian2 user would write them,
object for object the networks spikelearn builds from ``scenarios/song_stdp.toml`` and
``bench/scenarios/coba_stdp.toml`` (same equations, parameters, creation order, monitors), so that with
the same seed they draw the same random numbers.

- ``song``: ``n_in`` Poisson inputs at 15 Hz -> ``n_out`` conductance-based LIF neurons, all-to-all,
  additive STDP (Song, Miller & Abbott 2000). ``inputs="exponential"`` is spikelearn's default Poisson
  input (next spike drawn at each spike); ``inputs="poissongroup"`` is Brian2's ``PoissonGroup`` (one
  random number per input per step), as in Brian2's own example of the paper.
- ``coba``: 3200 + 800 COBA LIF neurons, p = 0.02, additive STDP on E->E.
- ``song_nest``: the song network in NEST: ``poisson_generator`` -> ``parrot_neuron`` -> ``stdp_synapse``
  (additive: mu_plus = mu_minus = 0, lambda = A_pre, alpha = depression_ratio*tau_pre/tau_post) ->
  ``iaf_cond_exp`` (C_m/g_L = tau_m; conductances in units of g_L = 10 nS).
"""

__all__ = ["song", "coba", "song_nest", "SONG"]

SONG = {"rate_hz": 15.0, "tau_m_ms": 10.0, "tau_e_ms": 5.0, "E_l_mV": -74.0, "E_e_mV": 0.0, "v_t_mV": -54.0,
        "v_r_mV": -60.0, "tau_pre_ms": 20.0, "tau_post_ms": 20.0, "A_pre": 0.01, "depression_ratio": 1.05,
        "wmax": 0.01}


def song(n_in=1000, n_out=1, inputs="exponential"):
    """Build the song network on the current device; return ``(network, spike monitors by name)``."""
    from brian2 import (Hz, Network, NeuronGroup, PoissonGroup, SpikeMonitor, StateMonitor, Synapses, mV, ms,
                        second)

    p = SONG
    if inputs == "exponential":
        inp = NeuronGroup(n_in, "rate : Hz (constant)\nnext_spike : second", threshold="t >= next_spike",
                          reset="next_spike = t + (-log(rand()))/rate", method="euler", name="inputs")
        inp.rate = "15.0*Hz"
        inp.next_spike = "-log(rand())/rate"
    else:
        inp = PoissonGroup(n_in, rates=p["rate_hz"] * Hz, name="inputs")
    out = NeuronGroup(n_out, """
        dv/dt = (ge*(E_e - v) + E_l - v)/tau_m : volt
        dge/dt = -ge/tau_e : 1
        """, threshold="v > v_t", reset="v = v_r", method="euler", name="out",
                      namespace={"tau_m": p["tau_m_ms"] * ms, "tau_e": p["tau_e_ms"] * ms, "E_l": p["E_l_mV"] * mV,
                                 "E_e": p["E_e_mV"] * mV, "v_t": p["v_t_mV"] * mV, "v_r": p["v_r_mV"] * mV})
    out.v = "v_r"
    syn = Synapses(inp, out, """
        w : 1
        dApre/dt = -Apre/tau_pre : 1 (event-driven)
        dApost/dt = -Apost/tau_post : 1 (event-driven)
        w_initial : 1 (constant)
        """, on_pre="""
        ge_post += w
        Apre += A_pre*wmax
        w = clip(w + Apost, 0, wmax)
        """, on_post="""
        Apost += -depression_ratio*A_pre*wmax*tau_pre/tau_post
        w = clip(w + Apre, 0, wmax)
        """, namespace={"tau_pre": p["tau_pre_ms"] * ms, "tau_post": p["tau_post_ms"] * ms, "A_pre": p["A_pre"],
                        "depression_ratio": p["depression_ratio"], "wmax": p["wmax"]}, name="inputs_to_out")
    syn.connect()
    syn.w = "rand()*0.01"
    syn.w_initial = "w"
    mons = {"inputs": SpikeMonitor(inp, name="spikes_inputs"), "out": SpikeMonitor(out, name="spikes_out")}
    state = StateMonitor(out, ["v", "ge"], record=[0], dt=1 * ms, name="state_out")
    wtrace = StateMonitor(syn, "w", record=list(range(50)), dt=1 * second, name="wtrace_inputs_to_out")
    return Network(inp, out, syn, *mons.values(), state, wtrace), mons


def coba():
    """Build the COBA network with STDP on E->E on the current device; return ``(network, monitors)``."""
    from brian2 import Network, NeuronGroup, SpikeMonitor, Synapses, mV, ms

    ns = {"tau_m": 20 * ms, "tau_e": 5 * ms, "tau_i": 10 * ms, "E_l": -49 * mV, "E_e": 0 * mV, "E_i": -80 * mV,
          "v_t": -50 * mV, "v_r": -60 * mV, "t_ref": 5 * ms}
    eqs = """
    dv/dt = (ge*(E_e - v) + gi*(E_i - v) + E_l - v)/tau_m : volt (unless refractory)
    dge/dt = -ge/tau_e : 1
    dgi/dt = -gi/tau_i : 1
    """
    groups = {}
    for name, size in (("exc", 3200), ("inh", 800)):
        g = NeuronGroup(size, eqs, threshold="v > v_t", reset="v = v_r", refractory="t_ref", method="euler",
                        namespace=dict(ns), name=name)
        g.v = "v_r + rand()*(v_t - v_r)"
        groups[name] = g
    stdp = {"tau_pre": 20 * ms, "tau_post": 20 * ms, "A_pre": 0.01, "depression_ratio": 1.05, "wmax": 1.2}
    ee = Synapses(groups["exc"], groups["exc"], """
        w : 1
        dApre/dt = -Apre/tau_pre : 1 (event-driven)
        dApost/dt = -Apost/tau_post : 1 (event-driven)
        """, on_pre="""
        ge_post += w
        Apre += A_pre*wmax
        w = clip(w + Apost, 0, wmax)
        """, on_post="""
        Apost += -depression_ratio*A_pre*wmax*tau_pre/tau_post
        w = clip(w + Apre, 0, wmax)
        """, namespace=stdp, name="ee")
    ee.connect(p=0.02)
    ee.w = "0.6"
    syns = [ee]
    for name, src, tgt, w, effect in (("ei", "exc", "inh", "0.6", "ge_post += w"),
                                       ("ie", "inh", "exc", "6.7", "gi_post += w"),
                                       ("ii", "inh", "inh", "6.7", "gi_post += w")):
        s = Synapses(groups[src], groups[tgt], "w : 1", on_pre=effect, name=name)
        s.connect(p=0.02)
        s.w = w
        syns.append(s)
    mons = {name: SpikeMonitor(g, name=f"spikes_{name}") for name, g in groups.items()}
    return Network(*groups.values(), *syns, *mons.values()), mons


def song_nest(n_in=1000, n_out=1, seed=1):
    """Build the song network in NEST (one thread); return ``(spike recorders by name, synapse count)``."""
    import nest

    p = SONG
    g_l = 10.0  # nS; dimensionless conductances of the Brian2 model are in units of g_L
    nest.ResetKernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.SetKernelStatus({"resolution": 0.1, "rng_seed": seed, "local_num_threads": 1, "print_time": False})
    gen = nest.Create("poisson_generator", params={"rate": p["rate_hz"]})
    parrots = nest.Create("parrot_neuron", n_in)
    nest.Connect(gen, parrots)  # each parrot receives its own independent Poisson train
    out = nest.Create("iaf_cond_exp", n_out, params={
        "C_m": p["tau_m_ms"] * g_l, "g_L": g_l, "E_L": p["E_l_mV"], "E_ex": p["E_e_mV"], "V_th": p["v_t_mV"],
        "V_reset": p["v_r_mV"], "V_m": p["v_r_mV"], "tau_syn_ex": p["tau_e_ms"], "t_ref": 0.0,
        "tau_minus": p["tau_post_ms"]})
    wmax = p["wmax"] * g_l
    nest.Connect(parrots, out, "all_to_all", {
        "synapse_model": "stdp_synapse", "weight": nest.random.uniform(0.0, wmax), "delay": 0.1, "Wmax": wmax,
        "lambda": p["A_pre"], "alpha": p["depression_ratio"] * p["tau_pre_ms"] / p["tau_post_ms"],
        "mu_plus": 0.0, "mu_minus": 0.0, "tau_plus": p["tau_pre_ms"]})
    recorders = {"inputs": nest.Create("spike_recorder"), "out": nest.Create("spike_recorder")}
    nest.Connect(parrots, recorders["inputs"])
    nest.Connect(out, recorders["out"])
    return recorders, n_in * n_out
