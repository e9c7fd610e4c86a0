"""Every state x event of a knowledge version, and the rule that the author does not review their own."""

from __future__ import annotations

import pytest

from central.knowledge.errors import SelfApproval, TransitionNotAllowed
from central.knowledge.lifecycle import TRANSITIONS, VersionEvent, VersionState, version_step
from central.knowledge.ranking import boost, fts_query, mark, marked_html, snippet, terms

S, E = VersionState, VersionEvent
EXPECTED = {
    (S.DRAFT, E.EDIT): S.DRAFT,
    (S.DRAFT, E.SUBMIT): S.IN_REVIEW,
    (S.IN_REVIEW, E.APPROVE): S.APPROVED,
    (S.IN_REVIEW, E.REJECT): S.DRAFT,
    (S.APPROVED, E.PUBLISH): S.PUBLISHED,
    (S.PUBLISHED, E.SUPERSEDE): S.SUPERSEDED,
}


@pytest.mark.parametrize(("state", "event"), [(s, e) for s in S for e in E])
def test_every_state_and_event(state: VersionState, event: VersionEvent) -> None:
    if (state, event) in EXPECTED:
        assert version_step(state, event, actor="reviewer", author="writer") is EXPECTED[(state, event)]
    else:
        with pytest.raises(TransitionNotAllowed) as refused:
            version_step(state, event, actor="reviewer", author="writer")
        assert refused.value.error_id == "knowledge.transition_not_allowed"
        assert refused.value.details["allowed"] == sorted(e.value for (s, e) in EXPECTED if s is state)


def test_the_table_is_the_expected_one() -> None:
    assert TRANSITIONS == EXPECTED


@pytest.mark.parametrize("event", [E.APPROVE, E.REJECT])
def test_the_author_does_not_review_their_own_version(event: VersionEvent) -> None:
    with pytest.raises(SelfApproval) as refused:
        version_step(S.IN_REVIEW, event, actor="writer", author="writer")
    assert (refused.value.error_id, refused.value.status) == ("knowledge.self_approval", 403)


def test_the_author_submits_and_publishes_their_own() -> None:
    assert version_step(S.DRAFT, E.SUBMIT, actor="w", author="w") is S.IN_REVIEW
    assert version_step(S.APPROVED, E.PUBLISH, actor="w", author="w") is S.PUBLISHED


def test_terms_queries_and_marks() -> None:
    assert terms("Refund, REFUND  退款流程。") == ["refund", "退款流程"]
    assert fts_query(["refund", "退款", 'a"bc']) == '"refund" AND "a""bc"'
    assert fts_query(["退款"]) is None  # a trigram needs three characters
    assert marked_html(mark("<b>Refund</b> refunds", ["refund"])) == (
        "&lt;b&gt;<mark>Refund</mark>&lt;/b&gt; <mark>refund</mark>s"
    )
    assert snippet("x" * 200 + " refund here", ["refund"], width=40).startswith("…")
    assert boost(100, 10, 0) > boost(100, 0, 0) > boost(100, 0, 10) and boost(1000, 0, 0) > boost(0, 0, 0)
    for bad in ("", "  ,。 ", "x" * 201, " ".join(str(i) for i in range(9))):
        with pytest.raises(Exception) as refused:
            terms(bad)
        assert getattr(refused.value, "error_id", None) == "knowledge.bad_query"
