"""The baseline every reader knows: a linear classifier on the raw inputs, fitted by least squares.

Not a spring network: numpy's lstsq maps the examples' input displacements (S, M, 2), with a
constant column, onto one-hot labels (S, P) and classifies by the largest score. A spring network
in linear response computes a linear map of its input displacements, so this is what a
well-trained network of the same inputs can be compared with.
"""

from __future__ import annotations

import numpy as np

from .task import Task


def linear_classifier(task: Task) -> dict:
    """Fit on task.train, score on both sets: {'train_accuracy', 'test_accuracy'} (nan if a set
    is empty). The task must classify (labels set)."""
    if task.labels is None:
        raise ValueError("a linear classifier needs a classification task (labels)")
    x = task.clamps.reshape(task.n_examples, -1)
    a = np.column_stack([x, np.ones(len(x))])
    n_classes = len(task.outputs)
    w = np.linalg.lstsq(a[task.train], np.eye(n_classes)[task.labels[task.train]], rcond=None)[0]

    def accuracy(idx):
        if len(idx) == 0:
            return float("nan")
        return float(np.mean(np.argmax(a[idx] @ w, axis=1) == task.labels[idx]))

    return {"train_accuracy": accuracy(task.train), "test_accuracy": accuracy(task.test)}
