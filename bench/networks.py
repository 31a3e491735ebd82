"""The benchmark networks written directly in Brian2 (and in NEST), the way a Brian2 user would write them,
object for object the networks spikelearn builds from ``scenarios/song_stdp.toml`` and
``bench/scenarios/coba_stdp.toml`` (same equations, parameters, creation order, monitors), so that with
the same seed they draw the same random numbers.

- ``song``: ``n_in`` Poisson inputs at 15 Hz -> ``n_out`` conductance-based LIF neurons, all-to-all,
  additive STDP (Song, Miller & Abbott 2000). ``inputs="exponential"`` is spikelearn's default Poisson
  input (next spike drawn at each spike); ``inputs="poissongroup"`` is Brian2's ``PoissonGroup`` (one
  random number per input per step), as in Brian2's own example of the paper.
- ``coba``: 3200 + 800 COBA LIF neurons, p = 0.02, additive STDP on E->E.
- ``coba_nest``: the COBA-STDP network in NEST (``iaf_cond_exp``, ``stdp_synapse`` on E->E).
- ``song_nest``: the song network in NEST: ``poisson_generator`` -> ``parrot_neuron`` -> ``stdp_synapse``
  (additive: mu_plus = mu_minus = 0, lambda = A_pre, alpha = depression_ratio*tau_pre/tau_post) ->
  ``iaf_cond_exp`` (C_m/g_L = tau_m; conductances in units of g_L = 10 nS).
"""

__all__ = ["song", "coba", "song_nest", "coba_nest", "SONG", "COBA"]

SONG = {"rate_hz": 15.0, "tau_m_ms": 10.0, "tau_e_ms": 5.0, "E_l_mV": -74.0, "E_e_mV": 0.0, "v_t_mV": -54.0,
        "v_r_mV": -60.0, "tau_pre_ms": 20.0, "tau_post_ms": 20.0, "A_pre": 0.01, "depression_ratio": 1.05,
        "wmax": 0.01}
#: the COBA-STDP network (bench/scenarios/coba_stdp.toml): times in ms, potentials in mV, weights in units
#: of the leak conductance; ``stdp`` on E->E (times in ms)
COBA = {"tau_m": 20.0, "tau_e": 5.0, "tau_i": 10.0, "E_l": -49.0, "E_e": 0.0, "E_i": -80.0, "v_t": -50.0,
        "v_r": -60.0, "t_ref": 5.0, "w_e": 0.6, "w_i": 6.7, "p": 0.02, "sizes": {"exc": 3200, "inh": 800},
        "stdp": {"tau_pre": 20.0, "tau_post": 20.0, "A_pre": 0.01, "depression_ratio": 1.05, "wmax": 1.2}}


def song(n_in=1000, n_out=1, inputs="exponential", order="pre", traces="synapse"):
    """Build the song network on the current device; return ``(network, spike monitors by name)``.

    The defaults are the network spikelearn builds. Variants for ``bench/layout_1e6.py``:

    - ``order="post"``: synapses created ordered by postsynaptic neuron (``connect(i=..., j=...)``,
      j-major) instead of ``connect()``'s presynaptic order. Same network, but ``rand()`` of the initial
      weights goes to other synapses (and the weight monitor's 50 synapses are others).
    - ``traces="clock"``: the per-synapse traces integrated every step (``clock-driven``, exact
      exponential decay) instead of ``event-driven``; no ``lastupdate``.
    - ``traces="neuron"``: ``Apre`` a variable of the inputs, ``Apost`` of the outputs (exact decay every
      step, incremented in their resets), the synapse only ``w``: the same rule for all-to-all additive
      STDP, whose traces do not depend on the synapse, up to rounding (per-step decay vs one exponential
      per event). The inputs' reset runs before the synapses, so that a pre and a post spike in the same
      step pair as in the event-driven form (``on_pre`` first).
    """
    from brian2 import (Hz, Network, NeuronGroup, PoissonGroup, SpikeMonitor, StateMonitor, Synapses, mV, ms,
                        second)
    import numpy as np

    p = SONG
    stdp_ns = {"tau_pre": p["tau_pre_ms"] * ms, "tau_post": p["tau_post_ms"] * ms, "A_pre": p["A_pre"],
               "depression_ratio": p["depression_ratio"], "wmax": p["wmax"]}
    neuron_traces = traces == "neuron"
    if inputs == "exponential":
        inp = NeuronGroup(n_in, "rate : Hz (constant)\nnext_spike : second" +
                          ("\ndApre/dt = -Apre/tau_pre : 1" if neuron_traces else ""), threshold="t >= next_spike",
                          reset="next_spike = t + (-log(rand()))/rate" + ("\nApre += A_pre*wmax" if neuron_traces else ""),
                          method="exact" if neuron_traces else "euler", name="inputs", namespace=dict(stdp_ns))
        inp.rate = "15.0*Hz"
        inp.next_spike = "-log(rand())/rate"
        if neuron_traces:
            inp.resetter["spike"].when = "before_synapses"
    else:
        inp = PoissonGroup(n_in, rates=p["rate_hz"] * Hz, name="inputs")
    out = NeuronGroup(n_out, """
        dv/dt = (ge*(E_e - v) + E_l - v)/tau_m : volt
        dge/dt = -ge/tau_e : 1
        """ + ("Apost : 1" if neuron_traces else ""), threshold="v > v_t",
                      reset="v = v_r" + ("\nApost += -depression_ratio*A_pre*wmax*tau_pre/tau_post" if neuron_traces else ""),
                      method="euler", name="out",
                      namespace={"tau_m": p["tau_m_ms"] * ms, "tau_e": p["tau_e_ms"] * ms, "E_l": p["E_l_mV"] * mV,
                                 "E_e": p["E_e_mV"] * mV, "v_t": p["v_t_mV"] * mV, "v_r": p["v_r_mV"] * mV, **stdp_ns})
    if neuron_traces:  # Apost decays exactly every step (v and ge stay forward Euler), before the thresholds
        out.run_regularly("Apost *= exp(-dt/tau_post)", when="groups", order=1, name="out_apost_decay")
    out.v = "v_r"
    if neuron_traces:
        syn = Synapses(inp, out, "w : 1\nw_initial : 1 (constant)", on_pre="""
            ge_post += w
            w = clip(w + Apost_post, 0, wmax)
            """, on_post="""
            w = clip(w + Apre_pre, 0, wmax)
            """, namespace=dict(stdp_ns), name="inputs_to_out")
    else:
        kind = "event-driven" if traces == "synapse" else "clock-driven"
        syn = Synapses(inp, out, f"""
            w : 1
            dApre/dt = -Apre/tau_pre : 1 ({kind})
            dApost/dt = -Apost/tau_post : 1 ({kind})
            w_initial : 1 (constant)
            """, on_pre="""
            ge_post += w
            Apre += A_pre*wmax
            w = clip(w + Apost, 0, wmax)
            """, on_post="""
            Apost += -depression_ratio*A_pre*wmax*tau_pre/tau_post
            w = clip(w + Apre, 0, wmax)
            """, namespace=dict(stdp_ns), method="exact", name="inputs_to_out")
    if order == "post":
        syn.connect(i=np.tile(np.arange(n_in), n_out), j=np.repeat(np.arange(n_out), n_in))
    else:
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

    c = COBA
    unit = {"tau_m": ms, "tau_e": ms, "tau_i": ms, "t_ref": ms, "E_l": mV, "E_e": mV, "E_i": mV, "v_t": mV, "v_r": mV}
    ns = {k: c[k] * u for k, u in unit.items()}
    eqs = """
    dv/dt = (ge*(E_e - v) + gi*(E_i - v) + E_l - v)/tau_m : volt (unless refractory)
    dge/dt = -ge/tau_e : 1
    dgi/dt = -gi/tau_i : 1
    """
    groups = {}
    for name, size in c["sizes"].items():
        g = NeuronGroup(size, eqs, threshold="v > v_t", reset="v = v_r", refractory="t_ref", method="euler",
                        namespace=dict(ns), name=name)
        g.v = "v_r + rand()*(v_t - v_r)"
        groups[name] = g
    stdp = {**c["stdp"], "tau_pre": c["stdp"]["tau_pre"] * ms, "tau_post": c["stdp"]["tau_post"] * ms}
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
    ee.connect(p=c["p"])
    ee.w = repr(c["w_e"])
    syns = [ee]
    for name, src, tgt, w, effect in (("ei", "exc", "inh", c["w_e"], "ge_post += w"),
                                       ("ie", "inh", "exc", c["w_i"], "gi_post += w"),
                                       ("ii", "inh", "inh", c["w_i"], "gi_post += w")):
        s = Synapses(groups[src], groups[tgt], "w : 1", on_pre=effect, name=name)
        s.connect(p=c["p"])
        s.w = repr(w)
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


def coba_nest(seed=1):
    """The COBA network with STDP on E->E in NEST (one thread); return ``(spike recorders by name,
    population sizes by name)``. ``iaf_cond_exp`` with C_m = tau_m*g_L, conductances in units of
    g_L = 10 nS (0.6 -> 6 nS, 6.7 -> 67 nS, wmax 1.2 -> 12 nS); ``pairwise_bernoulli`` p = 0.02 with
    autapses (as Brian2's ``connect(p=0.02)``); E->E ``stdp_synapse`` additive as in ``song_nest``;
    delays 0.1 ms (NEST's minimum, one step; Brian2 delivers in the same step). Mismatches NEST imposes:
    ``iaf_cond_exp`` is integrated with GSL's adaptive RKF45 (Brian2: forward Euler), and during the
    refractory period NEST clamps V_m at V_reset (as Brian2's ``unless refractory``)."""
    import nest

    c, stdp = COBA, COBA["stdp"]
    g_l = 10.0
    nest.ResetKernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.SetKernelStatus({"resolution": 0.1, "rng_seed": seed, "local_num_threads": 1, "print_time": False})
    params = {"C_m": c["tau_m"] * g_l, "g_L": g_l, "E_L": c["E_l"], "E_ex": c["E_e"], "E_in": c["E_i"],
              "V_th": c["v_t"], "V_reset": c["v_r"], "t_ref": c["t_ref"], "tau_syn_ex": c["tau_e"],
              "tau_syn_in": c["tau_i"], "tau_minus": stdp["tau_post"]}
    sizes = c["sizes"]
    pops = {name: nest.Create("iaf_cond_exp", n, params=params) for name, n in sizes.items()}
    for pop in pops.values():
        pop.V_m = nest.random.uniform(c["v_r"], c["v_t"])
    rule = {"rule": "pairwise_bernoulli", "p": c["p"], "allow_autapses": True}
    nest.Connect(pops["exc"], pops["exc"], rule, {
        "synapse_model": "stdp_synapse", "weight": c["w_e"] * g_l, "delay": 0.1, "Wmax": stdp["wmax"] * g_l,
        "lambda": stdp["A_pre"], "alpha": stdp["depression_ratio"] * stdp["tau_pre"] / stdp["tau_post"],
        "mu_plus": 0.0, "mu_minus": 0.0, "tau_plus": stdp["tau_pre"]})
    for src, tgt, w in (("exc", "inh", c["w_e"]), ("inh", "exc", -c["w_i"]), ("inh", "inh", -c["w_i"])):
        # NEST: a negative weight is inhibitory (onto g_in, reversal E_in)
        nest.Connect(pops[src], pops[tgt], rule, {"synapse_model": "static_synapse", "weight": w * g_l, "delay": 0.1})
    recorders = {name: nest.Create("spike_recorder") for name in pops}
    for name, pop in pops.items():
        nest.Connect(pop, recorders[name])
    return recorders, sizes
