"""Imperfect hardware and the scene keys of a warm, imperfect machine: perfect settings are the
perfect code path bit for bit; stiffness levels hold; each noise has the size it says; the keys
are checked like every other; train, sweeps and the API take them."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from sandbox.cli import main
from sandbox.learning.hardware import Hardware, k_grid, measure, to_levels
from sandbox.learning.optimizers import OptimizerState
from sandbox.learning.rules import Rule, apply_update, ep_gradient, ep_phases, exact_gradient
from sandbox.learning.trainer import Trainer
from sandbox.physics import energy as en
from sandbox.physics.equilibrium import NewtonSolver
from sandbox.scenes.build import build_scene, load_scene
from sandbox.scenes.save import save_scene
from sandbox.sweep.work import apply_overrides

SCENES = Path(__file__).parent.parent / "scenes"


def scene_with(name, **sections):
    """A library scene with sections merged into its document."""
    path = SCENES / f"{name}.yaml"
    raw = yaml.safe_load(path.read_text())
    for section, values in sections.items():
        raw[section] = {**raw.get(section, {}), **values}
    return build_scene(raw, path)


def reference_centered_ep(scene, epochs):
    """Centered EP on a one-example scene written out from the primitives (one Newton solver,
    dE/dk = e^2/2, the update): the code path of a perfect machine at zero temperature. Each
    phase starts from the factorization the solver kept last, both nudges from the free phase's
    (as the trainer does). Returns the losses."""
    net, task, rule = scene.net, scene.task, scene.rule()
    assert task.n_examples == 1 and rule.kind == "centered"
    solver = NewtonSolver()
    cost = task.cost(net, 0)
    state = OptimizerState()
    losses = [cost.value(solver.relax(net, task.start(net, 0)).x)]
    for epoch in range(epochs):
        free = solver.relax(net, task.start(net, 0))
        plus = solver.relax(net, free.x, cost, rule.beta)
        solver.kept = free.kept
        minus = solver.relax(net, free.x, cost, -rule.beta)
        (kp, lp), (km, lm) = en.parameter_gradients(net, plus.x), en.parameter_gradients(net, minus.x)
        apply_update(net, (kp - km) / (2 * rule.beta), (lp - lm) / (2 * rule.beta), rule, epoch,
                     np.abs(en.extensions(net, free.x)), state)
        losses.append(cost.value(solver.relax(net, task.start(net, 0)).x))
    return losses


def test_zero_temperature_and_perfect_hardware_are_the_perfect_path_bit_for_bit():
    """Lesson 4's network with every new key set to its 'none' (temperature 0, samples 7, zero
    noises, no fabrication) trains exactly as centered EP written from the primitives; so does a
    trainer holding a Hardware object with nothing to do (readings of the settled state, no
    noise: the measuring and updating code of an imperfect machine), on a mini-batch scene too."""
    zero = dict(physics={"temperature": 0.0, "samples": 7},
                hardware={"measure_noise": 0.0, "update_noise": 0.0, "fabrication": 0.0})
    scene = scene_with("lesson_warm", **zero)
    trainer = Trainer.from_scene(scene)
    assert trainer.hardware is None and trainer.engine.temperature == 0
    history = trainer.fit(6)
    ref_scene = load_scene(SCENES / "lesson_warm.yaml")
    reference = reference_centered_ep(ref_scene, 6)
    assert reference[-1] < 0.2 * reference[0]  # it learns: the comparison is not of a still network
    assert [row["loss"] for row in history] == reference
    assert np.array_equal(scene.net.k, ref_scene.net.k) and np.array_equal(scene.net.L, ref_scene.net.L)
    for name in ("lesson_warm", "symmetrize"):
        plain, idle = load_scene(SCENES / f"{name}.yaml"), load_scene(SCENES / f"{name}.yaml")
        Trainer.from_scene(plain).fit(4)
        t = Trainer.from_scene(idle)
        t.hardware = Hardware(readings=5)
        t.fit(4)
        assert np.array_equal(idle.net.k, plain.net.k) and np.array_equal(idle.net.L, plain.net.L)


@pytest.mark.parametrize("rounding", ["nearest", "stochastic"])
def test_k_levels_keep_every_k_on_its_grid(rounding):
    """Built and after every update, each k is one of the k_levels values from k_min to k_max;
    with stochastic rounding the network still learns."""
    scene = scene_with("symmetrize", hardware={"k_levels": 61, "rounding": rounding})
    grid = k_grid(scene.spec.learning.k_min, scene.spec.learning.k_max, 61)
    assert np.isin(scene.net.k, grid).all()
    trainer = Trainer.from_scene(scene)
    seen = []
    history = trainer.fit(20, [lambda tr, st: seen.append(tr.net.k.copy()) if st.name == "update" else None])
    assert len(seen) == 20 and all(np.isin(k, grid).all() for k in seen)
    assert len({k.tobytes() for k in seen}) > 1  # the levels change
    if rounding == "stochastic":
        assert history[-1]["loss"] < 0.2 * history[0]["loss"]


def test_rounding_onto_levels_is_nearest_in_log_or_unbiased():
    grid = np.array([1.0, 2.0, 4.0])
    # the log midpoints are sqrt(2) and sqrt(8) = 2.83
    assert to_levels(np.array([1.3, 1.5, 2.8, 2.9, 9.0, 0.1]), grid).tolist() == [1.0, 2.0, 2.0, 4.0, 4.0, 1.0]
    k = np.full(40_000, 1.25)
    picked = to_levels(k, grid, stochastic=True, rng=np.random.default_rng(0))
    assert set(np.unique(picked)) == {1.0, 2.0}
    assert picked.mean() == pytest.approx(1.25, abs=4 * 0.5 * np.sqrt(0.25 * 0.75 / len(k)))


def test_measured_extensions_carry_the_measure_noise_averaged_over_the_readings():
    """Each reading of e is off by measure_noise; a phase averages `readings` of them: the mean
    of dE/dL = -k e is unbiased with spread k sigma / sqrt(readings)."""
    scene = load_scene(SCENES / "allostery.yaml")
    net = scene.net
    x = NewtonSolver().relax(net, scene.task.start(net, 0)).x
    true_k, true_L = en.parameter_gradients(net, x)
    sigma, readings = 0.05, 4
    hw = Hardware(measure_noise=sigma, readings=readings, rng=np.random.default_rng(1))
    reads = [measure(net, x, None, hw) for _ in range(300)]
    dL = np.array([r[1] for r in reads]) - true_L  # (300, E)
    spread = dL.std(axis=0) / (net.k * sigma / np.sqrt(readings))
    assert spread.mean() == pytest.approx(1.0, abs=0.03)
    assert np.abs(dL.mean(axis=0) / (net.k * sigma / np.sqrt(readings * 300))).mean() < 1.0  # unbiased
    dk = np.array([r[0] for r in reads]).mean(axis=0) - true_k  # the mean of e^2/2 gains sigma^2 / 2
    assert dk.mean() == pytest.approx(sigma ** 2 / 2, rel=0.05)


@pytest.mark.parametrize("kind", ["one-sided", "centered"])
def test_measure_noise_degrades_the_ep_gradient_as_predicted_and_a_larger_beta_beats_it(kind):
    """Each spring measures e_a and e_b with readings off by sigma, `readings` of each: its
    estimate of dC/dk = (e_b^2 - e_a^2) / (2 scale) is off by a spread
    sqrt(((e_a^2 + e_b^2) sigma^2 + sigma^4) / readings) / scale, without bias. The noise does
    not grow with beta and the signal does: the estimate's cosine with the exact gradient is
    the noiseless one's over sqrt(1 + R^2), R = |spread| / |gradient|, from 0.2 at beta 0.001
    (one-sided) to 0.998 at 0.1. Lesson 4's network, 300 noisy measurements per beta."""
    scene = load_scene(SCENES / "lesson_warm.yaml")
    net, task = scene.net, scene.task
    solver = NewtonSolver(tol=1e-13)
    cost = task.cost(net, 0)
    x0 = solver.relax(net, task.start(net, 0)).x
    exact = exact_gradient(net, x0, cost)[0]
    sigma, readings, n = 7.5e-5, 4, 300
    cosines = []
    for beta in (1e-3, 1e-2, 1e-1):
        ph = ep_phases(solver, net, x0, cost, Rule(kind=kind, beta=beta))
        clean = ep_gradient(net, ph)[0]
        ea, eb = en.extensions(net, ph.x_a), en.extensions(net, ph.x_b)
        spread = np.sqrt(((ea ** 2 + eb ** 2) * sigma ** 2 + sigma ** 4) / readings) / ph.scale
        hw = Hardware(measure_noise=sigma, readings=readings, rng=np.random.default_rng(1))
        noisy = np.array([ep_gradient(net, ph, hw)[0] for _ in range(n)])  # (n, E)
        err = noisy - clean
        assert (err.std(axis=0) / spread).mean() == pytest.approx(1.0, abs=0.03)
        assert np.mean(np.abs(err.mean(axis=0)) / (spread / np.sqrt(n))) < 1.2  # unbiased: ~0.8
        r = np.linalg.norm(spread) / np.linalg.norm(exact)
        cos = np.mean(noisy @ exact / np.linalg.norm(noisy, axis=1)) / np.linalg.norm(exact)
        clean_cos = clean @ exact / np.linalg.norm(clean) / np.linalg.norm(exact)
        assert cos == pytest.approx(clean_cos / np.sqrt(1 + r * r), abs=0.03), (beta, r)
        cosines.append(cos)
    assert cosines[0] < 0.5 and cosines[0] < cosines[1] < cosines[2] and cosines[2] > 0.99


def test_update_noise_is_relative_to_each_change():
    scene = load_scene(SCENES / "allostery.yaml")
    net, rule = scene.net, scene.rule()
    before = (net.k.copy(), net.L.copy())
    step = 1e-3 * np.random.default_rng(0).standard_normal(net.n_springs)
    hw = Hardware(update_noise=0.2, rng=np.random.default_rng(2))
    ratios = []
    for _ in range(50):
        net.k, net.L = before[0] + step, before[1].copy()
        dk, dL = hw.realize(net, before, rule)
        ratios.append(dk / step - 1)
        assert np.array_equal(dL, np.zeros_like(dL))
    assert np.std(ratios) == pytest.approx(0.2, rel=0.05) and abs(np.mean(ratios)) < 0.01


def test_fabrication_spreads_the_built_network_once(tmp_path):
    """A relative spread of 0.1 around the scene's k and L, the same for the same seed; the
    saved network is the one built, and it is not spread again when it is opened."""
    plain = load_scene(SCENES / "allostery.yaml")
    built = scene_with("allostery", hardware={"fabrication": 0.1})
    again = scene_with("allostery", hardware={"fabrication": 0.1})
    for a, b in ((built.net.k, plain.net.k), (built.net.L, plain.net.L)):
        assert np.std(np.log(a / b)) == pytest.approx(0.1, rel=0.15)
    assert np.array_equal(built.net.k, again.net.k)
    saved = load_scene(save_scene(built, tmp_path / "built.yaml"))
    assert np.array_equal(saved.net.k, built.net.k) and np.array_equal(saved.net.L, built.net.L)
    assert saved.spec.hardware.fabrication == 0


def test_validate_names_the_file_the_place_and_the_problem_of_each_bad_new_key(tmp_path, capsys):
    """`validate` on a scene with a bad value or a misspelt name for each new key: exit 2, no
    traceback, and one line per problem with the file, the line and column of that key, the
    key's path and what is wrong (a did-you-mean for a misspelling); a sweep's bad override too."""
    path = tmp_path / "bad.yaml"
    raw = yaml.safe_load((SCENES / "two_springs.yaml").read_text())
    raw["physics"] = {"temperature": -1, "sampels": 3}
    raw["hardware"] = {"measure_nosie": 0.1, "k_levels": 1, "fabrication": 2, "rounding": "up", "update_noise": -0.5}
    path.write_text(yaml.safe_dump(raw))
    lines = path.read_text().splitlines()

    def place(section, key):  # "line L, column C" of `key` inside `section`
        top = lines.index(f"{section}:")
        row = next(i for i in range(top + 1, len(lines)) if lines[i].lstrip().startswith(f"{key}:"))
        return f"line {row + 1}, column {lines[row].index(key) + 1}"

    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr()
    text = out.out + out.err
    assert str(path) in text and "Traceback" not in text
    for section, key, problem in (
            ("physics", "temperature", "physics.temperature: Input should be greater than or equal to 0"),
            ("physics", "sampels", "physics.sampels: unknown key 'sampels' (did you mean 'samples'?)"),
            ("hardware", "measure_nosie", "hardware.measure_nosie: unknown key 'measure_nosie' (did you mean 'measure_noise'?)"),
            ("hardware", "k_levels", "hardware.k_levels: Input should be greater than or equal to 2"),
            ("hardware", "fabrication", "hardware.fabrication: Input should be less than or equal to 1"),
            ("hardware", "rounding", "hardware.rounding: got 'up': input should be 'nearest' or 'stochastic'"),
            ("hardware", "update_noise", "hardware.update_noise: Input should be greater than or equal to 0")):
        assert f"{place(section, key)}: {problem}" in text, (key, text)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"scenes: [{SCENES / 'two_springs.yaml'}]\ngrid:\n  temperature: [0, -1e-6]\n  k_level: [10]\n")
    assert main(["validate", str(sweep)]) == 2
    text = capsys.readouterr().out
    assert "line 3, column 20: grid.temperature[1]: Input should be greater than or equal to 0" in text
    assert "line 4, column 3: grid.k_level: unknown override 'k_level' (did you mean 'k_levels'?)" in text


def test_train_takes_a_temperature_and_refuses_a_negative_one(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", str(SCENES / "two_springs.yaml"), "--temperature", "1e-6", "--epochs", "3",
                 "--out", str(out), "--quiet"])
    text = capsys.readouterr().out
    assert code in (0, 1) and "kT 1e-06" in text and (out / "history.csv").exists()
    assert json.loads((out / "run.json").read_text())["settings"]["temperature"] == 1e-6
    assert load_scene(out / "trained.yaml").spec.physics.temperature == 1e-6  # resumed, it stays warm
    with pytest.raises(SystemExit) as exc:
        main(["train", str(SCENES / "two_springs.yaml"), "--temperature", "-1"])
    assert exc.value.code == 2 and "must be a number, 0 or more" in capsys.readouterr().err
    assert main(["train", str(SCENES / "two_springs.yaml"), "--temperature", "1e9", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "physics.temperature: Input should be less than or equal to 1000000" in err and "Traceback" not in err


def test_sweep_overrides_reach_the_temperature_and_the_hardware():
    path = SCENES / "allostery.yaml"
    raw = yaml.safe_load(path.read_text())
    scene, *_ = apply_overrides(raw, path, {"temperature": 1e-4, "samples": 3, "measure_noise": 0.01,
                                            "k_levels": 61, "rounding": "stochastic", "fabrication": 0.05})
    assert (scene.spec.physics.temperature, scene.spec.physics.samples) == (1e-4, 3)
    hw = scene.spec.hardware
    assert (hw.measure_noise, hw.k_levels, hw.rounding, hw.fabrication) == (0.01, 61, "stochastic", 0.05)
    trainer = Trainer.from_scene(scene)
    assert trainer.engine.temperature == 1e-4 and trainer.hardware.measure_noise == 0.01
    assert np.isin(scene.net.k, k_grid(1e-3, 1e3, 61)).all()
    assert raw == yaml.safe_load(path.read_text())  # the document itself is left alone


def test_a_noisy_learner_is_not_rolled_back_for_a_wandering_loss():
    """A loss back above its start after a low best is a crumpled network when learning is
    exact, and noise swamping the nudge when it is warm or imperfect: only the first is rolled
    back; a blow-up (100x the start) still is."""
    from sandbox.learning.trainer import Guard

    history = [{"loss": 1.0}, {"loss": 1e-6}, {"loss": 1.5}]
    assert "jumped" in Guard().check_epoch(history)
    assert Guard().check_epoch(history, jumps=False) == ""
    assert "grew" in Guard().check_epoch(history + [{"loss": 200.0}], jumps=False)
    scene = load_scene(SCENES / "two_springs.yaml")
    assert not Trainer.from_scene(scene).noisy
    scene.override("physics", temperature=1e-8)
    warm = Trainer.from_scene(scene)
    assert warm.noisy and "if noise swamps the nudge, a larger one" in warm._advice("the loss jumped")
    assert Trainer.from_scene(scene_with("two_springs", hardware={"k_levels": 100})).noisy
