"""One exception hierarchy; messages that locate the problem."""

from __future__ import annotations

import pytest

from deconflict.errors import DeconflictError, InputError, NotFoundError, Problem, StaleVersionError


def test_problem_text_names_source_record_field_and_message() -> None:
    problem = Problem("plans.geojson", "unknown unit 'km'", "feature 3 (id op-17/v1)", "altitude_lower.units")
    assert str(problem) == "plans.geojson: feature 3 (id op-17/v1): altitude_lower.units: unknown unit 'km'"


def test_problem_text_skips_missing_parts() -> None:
    assert str(Problem("a.geojson", "not valid JSON")) == "a.geojson: not valid JSON"
    assert str(Problem("a.geojson", "missing", field="features")) == "a.geojson: features: missing"
    assert str(Problem("a.geojson", "bad", record="feature 0")) == "a.geojson: feature 0: bad"


def test_problem_is_frozen_and_comparable() -> None:
    problem = Problem("a", "b", "c", "d")
    assert problem == Problem("a", "b", "c", "d")
    with pytest.raises(AttributeError):
        problem.message = "other"  # type: ignore[misc]


def test_input_error_carries_every_problem_one_per_line() -> None:
    problems = [Problem("a.geojson", "first", "feature 0", "id"), Problem("a.geojson", "second", "feature 1")]
    error = InputError(problems)
    assert error.problems == tuple(problems)
    assert str(error).splitlines() == ["a.geojson: feature 0: id: first", "a.geojson: feature 1: second"]


def test_input_error_needs_a_problem() -> None:
    with pytest.raises(ValueError, match="at least one problem"):
        InputError([])


def test_input_error_accepts_any_iterable() -> None:
    error = InputError(Problem("x", str(i)) for i in range(3))
    assert [p.message for p in error.problems] == ["0", "1", "2"]


def test_stale_version_names_current_and_expected() -> None:
    error = StaleVersionError("op-17", 1, 3)
    assert (error.operation_id, error.expected_version, error.current_version) == ("op-17", 1, 3)
    assert "'op-17' is at version 3, not 1" in str(error)
    assert "apply your change to version 3" in str(error)


def test_stale_version_when_update_names_no_version() -> None:
    error = StaleVersionError("op-17", None, 2)
    assert str(error) == (
        "operation 'op-17' already exists at version 2; an update must name the version it replaces"
    )


def test_stale_version_when_operation_does_not_exist() -> None:
    error = StaleVersionError("op-9", 4, None)
    assert str(error) == "operation 'op-9' does not exist; file it without a version"


@pytest.mark.parametrize("cls", [InputError, NotFoundError, StaleVersionError])
def test_every_error_is_a_deconflict_error(cls: type[Exception]) -> None:
    assert issubclass(cls, DeconflictError)
    assert issubclass(DeconflictError, Exception)
