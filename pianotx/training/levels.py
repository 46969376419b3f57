"""Fit the beat tracker's level model (:mod:`pianotx.score.level`): a multinomial logistic
regression with an L2 penalty on standardised features, as scikit-learn's ``C`` weighs it;
and its candidate chooser (:mod:`pianotx.score.candidates`), a conditional logit."""

from __future__ import annotations

import pickle
from multiprocessing import Pool
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from pianotx.data.asap import asap_rows
from pianotx.errors import TrainingError
from pianotx.score.candidates import CLIP
from pianotx.score.level import STEPS


def fit_level_model(features: np.ndarray, classes: np.ndarray, *, c: float = 1.0, margin: float = 1.0) -> dict:
    """The ``level_model`` whose ``coef`` and ``intercept`` minimise the cross-entropy of
    ``classes`` (indices into :data:`STEPS`) plus ``|coef|^2 / (2 c)`` on features
    standardised by ``mean`` and ``scale``; ``low`` and ``high`` are the features' range,
    ``margin`` the log-odds a changed level needs (:func:`pianotx.score.level.choose_step`)."""
    from scipy.optimize import minimize

    features, classes = np.asarray(features, dtype=float), np.asarray(classes, dtype=int)
    if len(features) != len(classes) or not len(classes) or classes.min() < 0 or classes.max() >= len(STEPS):
        raise TrainingError("the level model needs one class (0, 1 or 2) per row of features")
    mean, scale = features.mean(axis=0), np.maximum(features.std(axis=0), 1e-9)
    standard = (features - mean) / scale
    n_classes, n_features = len(STEPS), features.shape[1]
    onehot = np.eye(n_classes)[classes]

    def loss(flat: np.ndarray) -> tuple[float, np.ndarray]:
        coef, intercept = flat[:-n_classes].reshape(n_classes, n_features), flat[-n_classes:]
        logits = standard @ coef.T + intercept
        logits -= logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        error = np.exp(log_p) - onehot
        value = -np.sum(onehot * log_p) + np.sum(coef ** 2) / (2 * c)
        gradient = np.concatenate([(error.T @ standard + coef / c).ravel(), error.sum(axis=0)])
        return float(value), gradient

    start = np.zeros(n_classes * (n_features + 1))
    flat = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": 5000}).x
    return {"mean": mean.tolist(), "scale": scale.tolist(),
            "low": features.min(axis=0).tolist(), "high": features.max(axis=0).tolist(),
            "coef": flat[:-n_classes].reshape(n_classes, n_features).tolist(),
            "intercept": flat[-n_classes:].tolist(), "margin": float(margin)}


def fit_chooser(features: Sequence[np.ndarray], best: Sequence[int], *, c: float = 1.0) -> dict:
    """A conditional logit (L2 weight ``1 / c``) that gives the candidate ``best[i]`` of
    each performance's ``features[i]`` (rows: candidates) the highest score."""
    from scipy.optimize import minimize

    if len(features) != len(best) or not len(best) or any(not 0 <= b < len(x) for x, b in zip(features, best)):
        raise TrainingError("the chooser needs one best candidate (a row index) per performance")
    stacked = np.vstack(features)
    mean, scale = stacked.mean(axis=0), stacked.std(axis=0) + 1e-6
    standard = [np.clip((x - mean) / scale, -CLIP, CLIP) for x in features]

    def loss(coef: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(coef)
        for x, label in zip(standard, best):
            z = x @ coef
            p = np.exp(z - z.max())
            p /= p.sum()
            total -= np.log(p[label] + 1e-12)
            grad -= x[label] - p @ x
        n = len(standard)
        return total / n + 0.5 / c * coef @ coef / n, grad / n + coef / c / n

    coef = minimize(loss, np.zeros(stacked.shape[1]), jac=True, method="L-BFGS-B").x
    return {"mean": mean.tolist(), "scale": scale.tolist(), "coef": coef.tolist()}


def measured_tuning_part(cache: Path, roots: Sequence[Path], measure: Callable[[tuple[Path, dict]], dict], *,
                         jobs: int = 2) -> list[dict]:
    """``measure((root, row))`` of every performance of the tuning part of each ASAP folder
    in ``roots`` (``jobs`` processes), kept in ``cache`` (a pickle) and read from it when it
    exists."""
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    work = [(root, row) for root in roots for row in asap_rows(root, "tuning")]
    with Pool(jobs) as pool:
        rows = pool.map(measure, work, chunksize=1)
    cache.write_bytes(pickle.dumps(rows))
    return rows
