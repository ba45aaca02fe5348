# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_errors: what each error says, and the families the edges catch them by (the module's one ``fail_json`` takes
any ``ContainerOpsError``; the driver's failure rules tell a lost engine, a final refusal and bad input apart)."""

from __future__ import annotations

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils import _errors as errors

EVERY_ERROR = [
    errors.ConnectionFailed,
    errors.EngineLost,
    errors.OutcomeUnknown,
    errors.BadInput,
    errors.Unsupported,
    errors.OperationConflict,
    errors.OperationFailed,
    errors.OperationRejected,
    errors.UnexpectedStatus,
    errors.WaitTimeout,
    errors.Unhealthy,
]


@pytest.mark.parametrize("error", EVERY_ERROR)
def test_every_error_is_a_container_ops_error_whose_message_is_what_it_was_given(error):
    raised = error("web: the engine said no")
    assert isinstance(raised, errors.ContainerOpsError)
    assert str(raised) == "web: the engine said no"


def test_a_missing_container_is_named_quoted_with_the_detail_after_it():
    assert str(errors.ContainerNotFound("web")) == "container 'web' not found"
    missing = errors.ContainerNotFound("web", "removed during the wait")
    assert str(missing) == "container 'web' not found: removed during the wait"
    assert missing.name == "web" and isinstance(missing, errors.ContainerOpsError)


@pytest.mark.parametrize(
    ("error", "family"),
    [
        (errors.EngineLost, errors.ConnectionFailed),  # a lost engine is reported as a connection failure
        (errors.Unsupported, errors.BadInput),  # asking for what the engine cannot do is the task's input
        (errors.UnexpectedStatus, errors.OperationFailed),  # done, but the status did not hold
    ],
)
def test_the_families_the_edges_catch(error, family):
    assert issubclass(error, family)


@pytest.mark.parametrize(
    ("error", "not_family"),
    [
        (errors.OperationRejected, errors.OperationFailed),  # final: the driver neither retries nor re-plans it
        (errors.OutcomeUnknown, errors.ConnectionFailed),  # the engine answered; what it did is not known
    ],
)
def test_errors_the_edges_must_tell_apart_are_of_different_families(error, not_family):
    assert not issubclass(error, not_family)
