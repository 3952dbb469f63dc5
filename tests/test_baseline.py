"""The linear baselines that `train` prints beside a classifier: least squares and logistic
regression, fitted to the raw inputs of the training examples only."""

from pathlib import Path

import numpy as np
import pytest

from sandbox.learning.baseline import linear_classifier, logistic_regression
from sandbox.scenes.build import load_scene

SCENES = Path(__file__).parent.parent / "scenes"


def test_logistic_regression_beats_least_squares_on_iris():
    """Least squares on one-hot targets masks Iris's middle class; the softmax does not."""
    task = load_scene(SCENES / "iris.yaml").task
    ls, lr = linear_classifier(task), logistic_regression(task)
    assert lr["test_accuracy"] >= 0.9 and lr["test_accuracy"] > ls["test_accuracy"] + 0.05
    assert lr["train_accuracy"] > ls["train_accuracy"]


def test_the_held_out_examples_play_no_part_in_the_fit():
    task = load_scene(SCENES / "iris.yaml").task
    before = logistic_regression(task)
    task.labels = task.labels.copy()
    task.labels[task.test] = np.random.default_rng(0).permutation(task.labels[task.test])
    task.clamps = task.clamps.copy()
    task.clamps[task.test] *= -1
    after = logistic_regression(task)
    assert after["penalty"] == before["penalty"] and after["train_accuracy"] == before["train_accuracy"]
    assert after["test_accuracy"] != before["test_accuracy"]


def test_cross_validation_turns_down_a_penalty_that_stifles_the_fit():
    """Under a penalty of 1e4 the probabilities stay near a third each: the worst log loss on
    the validation folds, so a mild penalty is chosen whichever comes first."""
    task = load_scene(SCENES / "iris.yaml").task
    assert logistic_regression(task, penalties=(1e4, 1e-3))["penalty"] == 1e-3
    assert logistic_regression(task, penalties=(1e-3, 1e4))["penalty"] == 1e-3


def test_a_task_without_labels_is_refused():
    task = load_scene(SCENES / "regression.yaml").task
    with pytest.raises(ValueError, match="classification"):
        logistic_regression(task)
