"""The baselines every reader knows: linear classifiers on the raw inputs, not spring networks.

A spring network in linear response computes a linear map of its input displacements, so these
are what a well-trained network of the same inputs is compared with; a network with hidden
structure should beat them.

- `linear_classifier`: least squares (numpy's lstsq) from the examples' input displacements
  (S, M, 2), with a constant column, onto one-hot labels (S, P); the class is the largest score.
- `logistic_regression`: multinomial logistic regression (softmax cross-entropy with an L2
  penalty) fitted by L-BFGS (scipy), the strength of the penalty chosen by cross-validation on
  the training examples. The stronger baseline: on the 8x8 digits it is 2 to 3 points above
  least squares.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from .task import Task

PENALTIES = tuple(10.0 ** np.arange(-6, 1.5, 0.5))  # L2 strengths tried, on standardized inputs
FOLDS = 5


def linear_classifier(task: Task) -> dict:
    """Fit on task.train, score on both sets: {'train_accuracy', 'test_accuracy'} (nan if a set
    is empty). The task must classify (labels set)."""
    x = _inputs(task)
    a = np.column_stack([x, np.ones(len(x))])
    n_classes = len(task.outputs)
    w = np.linalg.lstsq(a[task.train], np.eye(n_classes)[task.labels[task.train]], rcond=None)[0]
    return _scores(task, lambda idx: a[idx] @ w)


def logistic_regression(task: Task, penalties=PENALTIES, folds: int = FOLDS, seed: int = 0) -> dict:
    """Multinomial logistic regression on the raw inputs, fitted on task.train:
    {'train_accuracy', 'test_accuracy', 'penalty'}.

    The inputs that vary are standardized (mean 0, deviation 1 over the training examples). The
    L2 penalty (on the weights, not the intercepts) is the one of `penalties` with the lowest
    log loss (then the best accuracy) over `folds`-fold cross-validation on the training
    examples (folds drawn with `seed`): each fold in turn is the validation split. The model is
    then refitted on every training example. The test examples are never looked at.
    """
    x = _inputs(task)
    train, y = task.train, task.labels
    keep = np.ptp(x[train], axis=0) > 0
    mean, std = x[train][:, keep].mean(axis=0), x[train][:, keep].std(axis=0)
    z = (x[:, keep] - mean) / std
    n_classes = len(task.outputs)
    parts = np.array_split(np.random.default_rng(seed).permutation(train), min(folds, len(train)))
    best = None
    for lam in penalties if len(parts) > 1 else ():
        hits, loss = 0, 0.0
        for i, val in enumerate(parts):
            fit = np.concatenate(parts[:i] + parts[i + 1:])
            logp = _softmax_scores(z[val], _fit_softmax(z[fit], y[fit], n_classes, lam))
            hits += int(np.sum(np.argmax(logp, axis=1) == y[val]))
            loss += _log_loss(logp, y[val]) * len(val)
        if best is None or (-loss, hits) > best[0]:
            best = ((-loss, hits), lam)
    lam = best[1] if best else float(np.median(penalties))
    w = _fit_softmax(z[train], y[train], n_classes, lam)
    return {**_scores(task, lambda idx: _softmax_scores(z[idx], w)), "penalty": float(lam)}


def _inputs(task: Task) -> np.ndarray:
    """(S, 2M) every example's input displacements, one row each."""
    if task.labels is None:
        raise ValueError("a linear classifier needs a classification task (labels)")
    return task.clamps.reshape(task.n_examples, -1)


def _scores(task: Task, score) -> dict:
    """Accuracy of score(idx) -> (len(idx), P) on the training and test examples."""

    def accuracy(idx):
        if len(idx) == 0:
            return float("nan")
        return float(np.mean(np.argmax(score(idx), axis=1) == task.labels[idx]))

    return {"train_accuracy": accuracy(task.train), "test_accuracy": accuracy(task.test)}


def _softmax_scores(z: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(S, P) log-probabilities for inputs z (S, D) and weights w (D + 1, P) (last row: intercepts)."""
    a = z @ w[:-1] + w[-1]
    a -= a.max(axis=1, keepdims=True)
    return a - np.log(np.exp(a).sum(axis=1, keepdims=True))


def _log_loss(logp: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(logp[np.arange(len(y)), y]))


def _fit_softmax(z: np.ndarray, y: np.ndarray, n_classes: int, lam: float) -> np.ndarray:
    """Weights (D + 1, P) minimizing mean cross-entropy + lam/2 |W|^2 over inputs z (S, D) and
    labels y (S,), by L-BFGS from zero."""
    s, d = z.shape
    onehot = np.eye(n_classes)[y]

    def loss(flat):
        w = flat.reshape(d + 1, n_classes)
        logp = _softmax_scores(z, w)
        g_a = (np.exp(logp) - onehot) / s  # d(loss)/d(scores)
        grad = np.vstack([z.T @ g_a + lam * w[:-1], g_a.sum(axis=0)])
        return -np.sum(onehot * logp) / s + 0.5 * lam * np.sum(w[:-1] ** 2), grad.ravel()

    res = minimize(loss, np.zeros((d + 1) * n_classes), jac=True, method="L-BFGS-B",
                   options={"maxiter": 2000, "gtol": 1e-8})
    return res.x.reshape(d + 1, n_classes)
