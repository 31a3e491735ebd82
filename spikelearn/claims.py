"""Claims a scenario states itself, without a task: ``[claims.NAME]`` tables, each a statistic of the
recorded data and the band it must lie in, evaluated after the run beside the task's claims.

```toml
[claims.output_rate]
statistic = "rate"            # rate | cv_isi | fano | weight_mean
population = "out"            # rate, cv_isi, fano: a population whose spikes are recorded
window = "10*second"          # the last window of the run (default: all of it)
low = "15*Hz"                 # low and/or high; a rate's are rates, the others numbers
high = "30*Hz"
```

``weight_mean`` names a ``connection`` whose weights are recorded (``[record.weights]``) and reads the
mean final weight; ``fano`` counts spikes in ``bin`` bins (default 100 ms).
"""

import numpy as np

from .analysis.spike_statistics import fano_factor, isi_cv, mean_rate, spike_counts

__all__ = ["STATISTICS", "CLAIM_KEYS", "parse_claims", "evaluate_claims"]

#: statistic -> (what it reads, what it means)
STATISTICS = {
    "rate": ("population", "mean firing rate (Hz) of the population"),
    "cv_isi": ("population", "mean coefficient of variation of the inter-spike intervals"),
    "fano": ("population", "mean Fano factor of the spike counts in `bin` bins"),
    "weight_mean": ("connection", "mean final weight of the connection"),
}
CLAIM_KEYS = {"statistic", "population", "connection", "window", "bin", "low", "high"}


def parse_claims(check, data, populations, connections, record, duration):
    """The validated ``[claims]`` tables (resolved: strings kept as written), errors naming the key."""
    from .units import parse_quantity

    check.table(data, "claims", set(data) if isinstance(data, dict) else set())
    out = {}
    second, hertz = parse_quantity("1*second"), parse_quantity("1*Hz")
    for name, spec in data.items():
        key = f"claims.{name}"
        check.table(spec, key, CLAIM_KEYS, required=("statistic",))
        stat = check.string(spec["statistic"], f"{key}.statistic", choices=sorted(STATISTICS))
        reads = STATISTICS[stat][0]
        other = "connection" if reads == "population" else "population"
        if other in spec:
            raise check.error(f"{key}.{other}", f"statistic '{stat}' reads a {reads}, not a {other}")
        if reads not in spec:
            raise check.error(key, f"statistic '{stat}' needs '{reads}'")
        target = check.string(spec[reads], f"{key}.{reads}")
        if reads == "population":
            if target not in populations:
                raise check.error(f"{key}.population", f"no population named '{target}'")
            if target not in record["spikes"]:
                raise check.error(f"{key}.population", f"the spikes of '{target}' are not recorded (record.spikes: "
                                                       f"{', '.join(record['spikes']) or 'none'})")
        elif target not in connections:
            raise check.error(f"{key}.connection", f"no connection named '{target}'")
        elif target not in record["weights"]:
            raise check.error(f"{key}.connection", f"the weights of '{target}' are not recorded "
                                                   f"(add record.weights.{target} = {{}})")
        entry = {"statistic": stat, reads: target}
        if "window" in spec:
            window = check.quantity(spec["window"], f"{key}.window", second, positive=True)
            if float(window) > float(duration):
                raise check.error(f"{key}.window", f"is longer than the run ({spec['window']} > {duration})")
            entry["window"] = spec["window"]
        limit = record.get("spike_limits", {}).get(target, {}) if reads == "population" else {}
        if "start" in limit or "stop" in limit:  # the claim's window must lie in the recorded one
            last = float(parse_quantity(entry["window"])) if "window" in entry else float(duration)
            start = float(parse_quantity(limit["start"])) if "start" in limit else 0.0
            stop = float(parse_quantity(limit["stop"])) if "stop" in limit else float(duration)
            if start > float(duration) - last + 1e-12 or stop < float(duration) - 1e-12:
                raise check.error(f"{key}.window", f"the claim reads the last {last:g} s of the run, but "
                                                   f"record.spikes.{target} keeps only [{start:g}, {stop:g}) s")
        if "bin" in spec:
            if stat != "fano":
                raise check.error(f"{key}.bin", "only the statistic 'fano' has a bin")
            check.quantity(spec["bin"], f"{key}.bin", second, positive=True)
            entry["bin"] = spec["bin"]
        if "low" not in spec and "high" not in spec:
            raise check.error(key, "give low, high or both: the band the statistic must lie in")
        for edge in ("low", "high"):
            if edge in spec:
                if stat == "rate":
                    check.quantity(spec[edge], f"{key}.{edge}", hertz, nonnegative=True)
                else:
                    check.number(spec[edge], f"{key}.{edge}")
                entry[edge] = spec[edge]
        if "low" in entry and "high" in entry and _value(entry["low"]) > _value(entry["high"]):
            raise check.error(key, f"low ({entry['low']}) is above high ({entry['high']})")
        out[name] = entry
    return out


def _value(x):
    from .units import parse_quantity

    return float(parse_quantity(x)) if isinstance(x, str) else float(x)


def evaluate_claims(result):
    """Each claim of the run's resolved scenario, as the dicts a task's claims give (``name``,
    ``statement``, ``value``, ``threshold``, ``passed``)."""
    out = []
    for name, c in (result.scenario.get("claims") or {}).items():
        duration = result.duration
        window = min(_value(c["window"]), duration) if "window" in c else duration
        t0 = duration - window
        stat = c["statistic"]
        if stat == "weight_mean":
            value = float(np.mean(result.weights(c["connection"])["w_final"]))
            what = f"the mean final weight of {c['connection']}"
        else:
            pop = c["population"]
            i, t = result.spikes(pop)
            n = result.spike_count_size(pop)
            if stat == "rate":
                value = mean_rate(t, n, t0, duration)
            elif stat == "cv_isi":
                value = isi_cv(i, t, n, t0, duration)
            else:
                value = fano_factor(spike_counts(i, t, n, t0, duration, _value(c.get("bin", "100*ms"))))
            what = f"the {STATISTICS[stat][1].split(' (')[0]} of {pop}"
        low = _value(c["low"]) if "low" in c else -np.inf
        high = _value(c["high"]) if "high" in c else np.inf
        band = (f"in [{c['low']}, {c['high']}]" if "low" in c and "high" in c
                else f">= {c['low']}" if "low" in c else f"<= {c['high']}")
        out.append({"name": name, "statement": f"{what} over the last {window:g} s is {band} ([claims.{name}])",
                    "value": value, "threshold": [None if "low" not in c else low, None if "high" not in c else high],
                    "passed": bool(np.isfinite(value) and low <= value <= high)})
    return out
