"""The checks of notebook 02 on their own: right answers pass, each known wrong one is named."""

import pickle

import numpy as np
import pytest
from conftest import solution_namespace

from autograder.author import submissions
from course import cases, checks
from course import gradcheck_checks as gc

ALL_PROBLEMS = sorted(gc._BUILDERS)


def implementation(name: str) -> dict:
    """A catalogue variant's functions, executed (name -> function)."""
    variant = next(v for v in submissions.catalogue("02_gradcheck") if v.name == name)
    namespace: dict = {}
    exec(compile(variant.code, variant.name, "exec"), namespace)  # noqa: S102 (our catalogue)
    return {f: namespace[f] for f in variant.functions}


@pytest.fixture(scope="module")
def solution():
    return solution_namespace("02_gradcheck")


def run_every_check(functions: dict) -> None:
    """Every graded check of the notebook, hidden cases included."""
    if "numerical_gradient" in functions:
        ng = functions["numerical_gradient"]
        gc.check_numerical_gradient(ng, gc.NUMERIC["elementwise"])
        gc.check_numerical_gradient(ng, gc.NUMERIC["shapes"])
        gc.check_keeps_input(ng, gc.NUMERIC["elementwise"] + gc.NUMERIC["shapes"])
        gc.check_integer_input(ng, gc.INTEGER)
    if "rel_error" in functions:
        gc.check_rel_error(functions["rel_error"], gc.rel_error_rows())
    if "directional_check" in functions:
        gc.check_directional_accepts(functions["directional_check"], gc.DIRECTIONAL["right"])
        gc.check_directional_rejects(functions["directional_check"], gc.DIRECTIONAL["wrong"])
    if "adjoint_check" in functions:
        gc.check_adjoint_exact(functions["adjoint_check"], gc.ADJOINT["right"])
        gc.check_adjoint_rejects(functions["adjoint_check"], gc.ADJOINT["wrong"])


def central_difference(f, x, dout, eps=1e-6):
    """An independent float64 central difference, to test the problems' own gradients."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = (np.sum(f(x + step) * dout) - np.sum(f(x - step) * dout)) / (2 * eps)
    return grad


@pytest.mark.parametrize("name", ALL_PROBLEMS)
def test_every_problem_knows_its_gradient(name):
    p = gc.problem(name)
    assert p.dx.shape == p.x.shape
    assert checks.scaled_error(central_difference(p.f, p.x, p.dout), p.dx) < 1e-7
    if p.linear:  # the adjoint identity holds for the problems the adjoint cells use
        assert gc._adjoint_mismatch(p, p.dx) < 1e-12
    if p.dout.size > 1:
        assert np.std(p.dout) > 0.1, "dout must be random, never all ones"


def test_problems_are_seeded_and_the_instructor_seed_changes_them(monkeypatch):
    monkeypatch.delenv(cases.SEED_VARIABLE, raising=False)
    first, again = gc.problem("tanh-7"), gc.problem("tanh-7")
    assert np.array_equal(first.x, again.x) and np.array_equal(first.dout, again.dout)
    monkeypatch.setenv(cases.SEED_VARIABLE, "spring-2027")
    assert not np.array_equal(first.x, gc.problem("tanh-7").x)


@pytest.mark.parametrize("key", sorted(gc.WRONG))
def test_wrong_gradients_are_wrong_and_same_sum_where_claimed(key):
    wrong = gc.WRONG[key]
    p = gc.problem(wrong.problem)
    bad = wrong.make(p.dx, p)
    assert bad.shape == p.dx.shape
    assert checks.scaled_error(bad, p.dx) > 0.1
    if "same sum" in wrong.description:
        assert abs(bad.sum() - p.dx.sum()) < 1e-9 * np.abs(p.dx).sum()


@pytest.mark.parametrize("seed", ["0", "7", "spring-2027"])
def test_solution_passes_every_check(solution, monkeypatch, capsys, seed):
    monkeypatch.setenv(cases.SEED_VARIABLE, seed)
    run_every_check(solution)
    assert "Passed" in capsys.readouterr().out


@pytest.mark.parametrize("name", [v.name for v in submissions.catalogue("02_gradcheck")
                                  if not v.is_bug])
def test_alternative_solutions_pass_every_check(name):
    run_every_check(implementation(name))


@pytest.mark.parametrize("bug, check, phrase", [
    ("bug_directional_all_ones",
     lambda fn: gc.check_directional_rejects(fn, gc.DIRECTIONAL["wrong"]),
     "perturbed along all-ones.*only the SUM of the gradient"),
    ("bug_directional_ignores_dout",
     lambda fn: gc.check_directional_accepts(fn, gc.DIRECTIONAL["right"]), "ignores dout"),
    ("bug_integer_truncated", lambda fn: gc.check_integer_input(fn, gc.INTEGER),
     "dtype uint8: an array made with np.zeros_like"),
    ("bug_restores_by_arithmetic",
     lambda fn: gc.check_keeps_input(fn, gc.NUMERIC["elementwise"]),
     "modified x in place.*round-off"),
    ("bug_rel_error_divides_by_a", lambda fn: gc.check_rel_error(fn, gc.rel_error_rows()),
     r"divided by \|a\| only"),
    ("bug_adjoint_absolute_difference",
     lambda fn: gc.check_adjoint_rejects(fn, gc.ADJOINT["wrong"]),
     "accepted a wrong dx.*absolute difference"),
    ("bug_numerical_gradient_ignores_dout",
     lambda fn: gc.check_numerical_gradient(fn, gc.NUMERIC["elementwise"]),
     r"gradient of sum\(f\(x\)\)"),
    ("bug_numerical_gradient_one_sided",
     lambda fn: gc.check_numerical_gradient(fn, gc.NUMERIC["elementwise"]),
     "one-sided difference"),
])
def test_bugs_fail_with_an_explanation(bug, check, phrase):
    (fn,) = implementation(bug).values()
    with pytest.raises(checks.CheckFailure, match=f"(?s){phrase}"):
        check(fn)


def test_integer_gradient_that_is_zero_on_the_background_is_named(solution):
    def float_result_but_truncated_steps(f, x, dout, eps=1e-5):
        x = x.copy()  # keeps uint8: the steps are truncated, the result is float
        grad = np.zeros(x.shape)
        for i in np.ndindex(x.shape):
            old = x[i]
            x[i] = old + eps
            plus = np.sum(f(x) * dout)
            x[i] = old - eps
            minus = np.sum(f(x) * dout)
            x[i] = old
            grad[i] = (plus - minus) / (2 * eps)
        return grad

    with pytest.raises(checks.CheckFailure, match="zero at .* entries on integer input"):
        gc.check_integer_input(float_result_but_truncated_steps, gc.INTEGER)


def test_integer_input_may_be_refused_but_not_with_any_error(solution):
    def refuses(f, x, dout, eps=1e-5):
        if np.asarray(x).dtype.kind in "iu":
            raise ValueError("integer x: cast it to float64 first")
        return solution["numerical_gradient"](f, x, dout, eps)

    def crashes(f, x, dout, eps=1e-5):
        raise IndexError("oops")

    gc.check_integer_input(refuses, gc.INTEGER)
    with pytest.raises(checks.CheckFailure, match="Cast x to float64 first, or refuse"):
        gc.check_integer_input(crashes, gc.INTEGER)


def test_numerical_gradient_wrong_answers_are_named(solution):
    ng = solution["numerical_gradient"]
    names = gc.NUMERIC["elementwise"]
    cases_ = {
        "twice the gradient": lambda f, x, dout, eps=1e-5: 2 * ng(f, x, dout, eps),
        "wrong sign": lambda f, x, dout, eps=1e-5: -ng(f, x, dout, eps),
        "all zeros": lambda f, x, dout, eps=1e-5: np.zeros(np.shape(x)),
        "float32": lambda f, x, dout, eps=1e-5: ng(
            lambda z: f(np.asarray(z, np.float32)).astype(np.float32), x, dout, eps),
    }
    phrases = {"twice the gradient": "twice the gradient", "wrong sign": "wrong sign",
               "all zeros": "all zeros", "float32": "float32 arithmetic"}
    for name, fn in cases_.items():
        with pytest.raises(checks.CheckFailure, match=phrases[name]):
            gc.check_numerical_gradient(fn, names)


def test_numerical_gradient_that_never_restores_x_is_told_so():
    def never_restores(f, x, dout, eps=1e-5):
        grad = np.zeros(x.shape)
        for i in np.ndindex(x.shape):
            x[i] += eps
            plus = np.sum(f(x) * dout)
            x[i] -= 2 * eps
            grad[i] = (plus - np.sum(f(x) * dout)) / (2 * eps)
        return grad

    with pytest.raises(checks.CheckFailure, match="put each x\\[i\\] back"):
        gc.check_keeps_input(never_restores, gc.NUMERIC["elementwise"])


@pytest.mark.parametrize("wrong, phrase", [
    (lambda a, b: np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(np.add(a, b)))), r"\|a \+ b\|"),
    (lambda a, b: np.mean(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))), "mean"),
    (lambda a, b: np.max((np.subtract(a, b)) / np.maximum(1e-8, np.abs(a) + np.abs(b))),
     "absolute value"),
    (lambda a, b: np.linalg.norm(np.subtract(a, b)) / max(1e-8, np.linalg.norm(a)
                                                          + np.linalg.norm(b)), "norms"),
    (lambda a, b: np.abs(np.subtract(a, b)) / np.maximum(1e-8, np.abs(a) + np.abs(b)),
     "one number"),
    (lambda a, b: np.max(np.abs(np.subtract(a, b)) / (np.abs(a) + np.abs(b))), "nan|guard"),
])
def test_rel_error_misconceptions_are_named(wrong, phrase):
    with np.errstate(all="ignore"), pytest.raises(checks.CheckFailure, match=phrase):
        gc.check_rel_error(wrong, gc.rel_error_rows())


def test_a_check_that_always_passes_or_always_fails_loses(solution):
    def always_pass(f, x, dout, dx, eps=1e-5, seed=0):
        return 0.0

    def always_fail(f, x, dout, dx, eps=1e-5, seed=0):
        return 1.0

    gc.check_directional_accepts(always_pass, gc.DIRECTIONAL["right"])
    with pytest.raises(checks.CheckFailure, match="accepted a wrong gradient"):
        gc.check_directional_rejects(always_pass, gc.DIRECTIONAL["wrong"])
    with pytest.raises(checks.CheckFailure, match="for the right gradient"):
        gc.check_directional_accepts(always_fail, gc.DIRECTIONAL["right"])
    with pytest.raises(checks.CheckFailure, match="accepted a wrong dx"):
        gc.check_adjoint_rejects(lambda f, x, dout, dx: 0.0, gc.ADJOINT["wrong"])
    with pytest.raises(checks.CheckFailure, match="round-off"):
        gc.check_adjoint_exact(lambda f, x, dout, dx: 1.0, gc.ADJOINT["right"])


def test_one_sided_directional_check_is_named():
    def one_sided(f, x, dout, dx, eps=1e-5, seed=0):
        v = np.random.default_rng(seed).standard_normal(x.shape)
        p = (np.sum(f(x + eps * v) * dout) - np.sum(f(x) * dout)) / eps
        q = np.sum(dx * v)
        return abs(p - q) / max(1e-12, abs(p) + abs(q))

    with pytest.raises(checks.CheckFailure, match="one-sided difference"):
        gc.check_directional_accepts(one_sided, gc.DIRECTIONAL["right"])


def test_stubs_are_not_implemented():
    def stub(*args, **kwargs):
        raise NotImplementedError()

    for check in (lambda: gc.check_numerical_gradient(stub, ["tanh-7"]),
                  lambda: gc.check_keeps_input(stub, ["tanh-7"]),
                  lambda: gc.check_integer_input(stub),
                  lambda: gc.check_rel_error(stub, gc.rel_error_rows()[:1]),
                  lambda: gc.check_directional_accepts(stub, ["tanh-7"]),
                  lambda: gc.check_directional_rejects(stub, ["reversed"]),
                  lambda: gc.check_adjoint_exact(stub, ["matmul-4x3"]),
                  lambda: gc.check_adjoint_rejects(stub, [("dx-no-flip", 1.0)])):
        with pytest.raises(checks.CheckFailure, match="not implemented"):
            check()


def test_adjoint_wrong_rows_are_far_from_right():
    for key, _ in gc.ADJOINT["wrong"]:
        wrong = gc.WRONG[key]
        for attempt in range(50):
            p = gc.problem(wrong.problem, attempt)
            if gc._adjoint_mismatch(p, wrong.make(p.dx, p)) >= 0.1:
                break
        else:
            pytest.fail(f"{key}: no draw with a mismatch of 0.1")


def test_problem_functions_travel_by_name_and_seed(monkeypatch):
    """autograder/grade/verify/verify.py replays the tests in another process: f must pickle, seed
    and all."""
    monkeypatch.setenv(cases.SEED_VARIABLE, "11")
    p = gc.problem("conv1-x-6x7")
    monkeypatch.setenv(cases.SEED_VARIABLE, "0")
    for f in (p.f, gc._Recording(p.f)):
        copy = pickle.loads(pickle.dumps(f))
        assert np.array_equal(copy(p.x), p.f(p.x))
