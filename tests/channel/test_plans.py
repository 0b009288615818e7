"""A party files only its own plans."""

from __future__ import annotations

import pytest

from deconflict.channel.plans import plan_volumes
from deconflict.errors import InputError
from tests.builders import collection, feature


def test_features_without_party_belong_to_the_filer() -> None:
    volumes = plan_volumes(collection(feature("v1"), feature("v2", party="blue")), "blue")
    assert [(v.id, v.party) for v in volumes] == [("v1", "blue"), ("v2", "blue")]


def test_a_feature_naming_another_party_is_refused_with_its_record_and_field() -> None:
    with pytest.raises(InputError) as info:
        plan_volumes(collection(feature("v1"), feature("v2", party="red")), "blue", source="request")
    (problem,) = info.value.problems
    assert (problem.source, problem.record, problem.field) == ("request", "feature 1 (id v2)", "party")
    assert "'red'" in problem.message and "'blue'" in problem.message
