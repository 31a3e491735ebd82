"""Weight views: histograms before/after, the (sorted) weight matrix, and weights over time.

All functions take the dict of ``data/weights_<conn>.npz`` (``i``, ``j``, ``w_initial``, ``w_final`` and,
when traced, ``t``, ``trace_index``, ``w_trace``) and cope with empty or constant weights.
"""

import logging

import numpy as np

__all__ = [
    "weight_bins",
    "weight_matrix",
    "weight_histogram_figure",
    "weight_matrix_figure",
    "weight_evolution_figure",
    "MAX_MATRIX_SIDE",
]

logger = logging.getLogger(__name__)

#: weight matrices larger than this on a side are block-averaged down for display
MAX_MATRIX_SIDE = 400


def weight_bins(*arrays, n_bins=40):
    """Common histogram edges for weight arrays; a sensible range when every weight is equal.

    Examples
    --------
    >>> weight_bins([1.0, 1.0], n_bins=2).tolist()
    [0.5, 1.0, 1.5]
    """
    values = [np.asarray(a, dtype=float).ravel() for a in arrays]
    values = [v[np.isfinite(v)] for v in values if v.size]
    values = [v for v in values if v.size]
    if not values:
        return np.linspace(0.0, 1.0, n_bins + 1)
    lo = min(float(v.min()) for v in values)
    hi = max(float(v.max()) for v in values)
    if hi <= lo:
        half = abs(lo) * 0.5 if lo != 0 else 0.5
        lo, hi = lo - half, hi + half
    return np.linspace(lo, hi, n_bins + 1)


def weight_matrix(weights, n_pre=None, n_post=None, which="w_final", pre_order=None, post_order=None):
    """Dense ``(n_pre, n_post)`` weight matrix; ``NaN`` where there is no synapse.

    Multiple synapses between the same pair are summed.

    Parameters
    ----------
    weights : dict
        Arrays of ``data/weights_<conn>.npz``.
    n_pre, n_post : int or None
        Population sizes (default: largest index + 1).
    which : {"w_final", "w_initial"}
    pre_order, post_order : array_like of int or None
        Permutations applied to the rows/columns (row ``k`` shows neuron ``pre_order[k]``).

    Returns
    -------
    numpy.ndarray
    """
    if which not in ("w_final", "w_initial"):
        raise ValueError(f"which must be 'w_final' or 'w_initial', found: {which!r}")
    i = np.asarray(weights.get("i", []), dtype=np.int64)
    j = np.asarray(weights.get("j", []), dtype=np.int64)
    w = np.asarray(weights.get(which, []), dtype=float)
    if not (i.size == j.size == w.size):
        raise ValueError(f"i, j and {which} must have equal lengths, found: {i.size}, {j.size}, {w.size}")
    n_pre = int(n_pre if n_pre is not None else (i.max() + 1 if i.size else 0))
    n_post = int(n_post if n_post is not None else (j.max() + 1 if j.size else 0))
    mat = np.full((n_pre, n_post), np.nan)
    if i.size:
        flat = np.ravel_multi_index((i, j), (n_pre, n_post))
        sums = np.bincount(flat, weights=w, minlength=n_pre * n_post)
        present = np.bincount(flat, minlength=n_pre * n_post) > 0
        mat.ravel()[present] = sums[present]
    if pre_order is not None:
        mat = mat[np.asarray(pre_order, dtype=np.int64)]
    if post_order is not None:
        mat = mat[:, np.asarray(post_order, dtype=np.int64)]
    return mat


def _block_mean(mat, max_side):
    """Block-average a matrix (ignoring NaN) so that neither side exceeds ``max_side``."""
    fr = int(np.ceil(mat.shape[0] / max_side)) if mat.shape[0] > max_side else 1
    fc = int(np.ceil(mat.shape[1] / max_side)) if mat.shape[1] > max_side else 1
    if fr == 1 and fc == 1:
        return mat, (1, 1)
    rows, cols = -(-mat.shape[0] // fr) * fr, -(-mat.shape[1] // fc) * fc
    padded = np.full((rows, cols), np.nan)
    padded[: mat.shape[0], : mat.shape[1]] = mat
    blocks = padded.reshape(rows // fr, fr, cols // fc, fc)
    present = np.isfinite(blocks).sum(axis=(1, 3))
    total = np.nansum(blocks, axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(present > 0, total / np.maximum(present, 1), np.nan)
    return out, (fr, fc)


def weight_histogram_figure(weights, title="", wmax=None):
    """Histograms of the initial and final weights on common bins.

    Parameters
    ----------
    weights : dict
        Arrays of ``data/weights_<conn>.npz``.
    title : str
    wmax : float or None
        When given, weights are shown as ``w / wmax``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    w0 = np.asarray(weights.get("w_initial", []), dtype=float).ravel()
    w1 = np.asarray(weights.get("w_final", []), dtype=float).ravel()
    scale = float(wmax) if wmax else 1.0
    w0, w1 = w0 / scale, w1 / scale
    fig, ax = plt.subplots(figsize=(6, 3.6))
    if w0.size == 0 and w1.size == 0:
        ax.text(0.5, 0.5, "no synapses", transform=ax.transAxes, ha="center", va="center", color="0.4")
    else:
        bins = weight_bins(w0, w1, n_bins=min(40, max(5, int(np.sqrt(max(w0.size, w1.size))))))
        if w0.size:
            ax.hist(w0, bins=bins, color="0.6", alpha=0.6, label=f"initial (mean {np.mean(w0):.3g})")
        if w1.size:
            ax.hist(w1, bins=bins, histtype="step", color="C3", linewidth=1.6,
                    label=f"final (mean {np.mean(w1):.3g})")
        ax.legend(fontsize=8)
    ax.set_xlabel("w / wmax" if wmax else "w")
    ax.set_ylabel("synapses")
    ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4))  # tiny or huge weights: an offset, not overlap
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"{title}: weights before/after ({w1.size:,} synapses)" if title else "weights before/after",
                 fontsize=10)
    fig.tight_layout()
    return fig


def weight_matrix_figure(weights, n_pre=None, n_post=None, title="", pre_sort=None, post_sort=None,
                         pre_label="pre", post_label="post"):
    """Initial and final weight matrices side by side (sorted, block-averaged when large).

    Parameters
    ----------
    weights : dict
        Arrays of ``data/weights_<conn>.npz``.
    n_pre, n_post : int or None
        Population sizes.
    pre_sort, post_sort : array_like or None
        Per-neuron values to order the rows/columns by (e.g. preferred stimulus). Without them, rows are
        ordered by the final mean outgoing weight when there is a single post neuron or no attribute.
    pre_label, post_label : str
        Axis labels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    final = weight_matrix(weights, n_pre, n_post, "w_final")
    initial = weight_matrix(weights, final.shape[0], final.shape[1], "w_initial")
    pre_order = post_order = None
    if pre_sort is not None:
        pre_order = np.argsort(np.asarray(pre_sort, dtype=float), kind="stable")
        pre_label += " (sorted)"
    elif final.size and final.shape[0] > 1:
        with np.errstate(all="ignore"):
            key = np.nanmean(np.where(np.isfinite(final), final, np.nan), axis=1) if np.isfinite(final).any() \
                else np.zeros(final.shape[0])
        pre_order = np.argsort(np.nan_to_num(key, nan=-np.inf), kind="stable")[::-1]
        pre_label += " (by final weight)"
    if post_sort is not None:
        post_order = np.argsort(np.asarray(post_sort, dtype=float), kind="stable")
        post_label += " (sorted)"
    if pre_order is not None:
        final, initial = final[pre_order], initial[pre_order]
    if post_order is not None:
        final, initial = final[:, post_order], initial[:, post_order]
    fig, axes = plt.subplots(1, 2, figsize=(9, 4), sharey=True)
    if final.size == 0 or not np.isfinite(final).any():
        for ax in axes:
            ax.text(0.5, 0.5, "no synapses", transform=ax.transAxes, ha="center", va="center", color="0.4")
        fig.suptitle(f"{title}: weight matrix" if title else "weight matrix", fontsize=10)
        return fig
    shown_i, factor = _block_mean(initial, MAX_MATRIX_SIDE)
    shown_f, _ = _block_mean(final, MAX_MATRIX_SIDE)
    finite = np.concatenate([shown_i[np.isfinite(shown_i)], shown_f[np.isfinite(shown_f)]])
    vmin, vmax = float(finite.min()), float(finite.max())
    if vmax <= vmin:
        vmax = vmin + (abs(vmin) or 1.0) * 1e-6
    cmap = plt.get_cmap("viridis").with_extremes(bad="white")
    n_rows, n_cols = final.shape
    im = None
    for ax, mat, name in zip(axes, (shown_i, shown_f), ("initial", "final")):
        im = ax.imshow(mat, aspect="auto", origin="lower", interpolation="nearest", cmap=cmap, vmin=vmin,
                       vmax=vmax, extent=(-0.5, n_cols - 0.5, -0.5, n_rows - 0.5))
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(post_label)
    for ax in axes:
        if n_cols <= 10:
            ax.set_xticks(range(n_cols))
    if n_rows <= 10:
        axes[0].set_yticks(range(n_rows))
    axes[0].set_ylabel(pre_label)
    cbar = fig.colorbar(im, ax=axes, shrink=0.85, label="w")
    cbar.formatter.set_powerlimits((-3, 4))
    cbar.update_ticks()
    note = f" (block mean {factor[0]}x{factor[1]})" if factor != (1, 1) else ""
    fig.suptitle((f"{title}: weight matrix" if title else "weight matrix") + note, fontsize=10)
    return fig


def weight_evolution_figure(weights, title="", max_lines=40, wmax=None):
    """Traced weights over time: a sample of individual synapses, their mean and 10–90 % band.

    Returns
    -------
    matplotlib.figure.Figure or None
        ``None`` when the connection was not traced over time.
    """
    import matplotlib.pyplot as plt

    if "w_trace" not in weights or "t" not in weights:
        return None
    t = np.asarray(weights["t"], dtype=float).ravel()
    trace = np.atleast_2d(np.asarray(weights["w_trace"], dtype=float))
    if trace.shape[-1] != t.size and trace.shape[0] == t.size:
        trace = trace.T  # (n_t, n_rec) written the other way round
    if t.size == 0 or trace.size == 0:
        return None
    scale = float(wmax) if wmax else 1.0
    trace = trace / scale
    fig, ax = plt.subplots(figsize=(7, 3.6))
    rng = np.random.default_rng(0)
    pick = np.sort(rng.choice(trace.shape[0], size=min(max_lines, trace.shape[0]), replace=False))
    ax.plot(t, trace[pick].T, color="0.5", linewidth=0.5, alpha=0.6)
    if trace.shape[0] > 1:
        lo, hi = np.percentile(trace, [10, 90], axis=0)
        ax.fill_between(t, lo, hi, color="C0", alpha=0.2, linewidth=0, label="10–90 %")
    ax.plot(t, trace.mean(axis=0), color="C0", linewidth=2, label="mean")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("w / wmax" if wmax else "w")
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4))
    ax.set_title(f"{title}: {trace.shape[0]} traced synapses" if title else "traced synapses", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig
