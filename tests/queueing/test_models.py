"""The job request's state machine: its allowed moves, written once in ``ALLOWED_STATE_MOVES``."""

from __future__ import annotations

import pytest

from queueing.models import ALLOWED_STATE_MOVES, OPEN_STATES, IllegalStateMove, JobRequest, JobState


@pytest.mark.parametrize("from_state", list(JobState))
def test_every_move_not_listed_raises_and_changes_nothing(from_state: str) -> None:
    for to_state in set(JobState) - ALLOWED_STATE_MOVES[from_state]:
        request = JobRequest(job_id="backlink-x-run-1", state=from_state)

        with pytest.raises(IllegalStateMove):
            request.move_to(to_state)

        assert request.state == from_state


@pytest.mark.parametrize("from_state", list(JobState))
def test_every_listed_move_is_made_and_returns_the_old_state(from_state: str) -> None:
    for to_state in ALLOWED_STATE_MOVES[from_state]:
        request = JobRequest(job_id="backlink-x-run-1", state=from_state)

        assert request.move_to(to_state) == from_state

        assert request.state == to_state


def test_done_failed_and_cancelled_are_final_and_the_rest_are_open() -> None:
    final = {JobState.DONE, JobState.FAILED, JobState.CANCELLED}

    assert all(ALLOWED_STATE_MOVES[state] == frozenset() for state in final)
    still_open = set(JobState) - final
    assert still_open == OPEN_STATES
