"""A version's lifecycle, pure: ``version_step(state, event, actor=, author=) -> state``.

    draft ──submit──▶ in_review ──approve──▶ approved ──publish──▶ published ──supersede──▶ superseded
      ▲ edit            │ reject                                      (a newer version published)
      └─────────────────┘

Only a draft is edited; a different person than the author approves (and rejects) it. The
published version is served while the next one is a draft or in review.
"""

from __future__ import annotations

from enum import StrEnum

from central.knowledge.errors import SelfApproval, TransitionNotAllowed


class VersionState(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"


class VersionEvent(StrEnum):
    EDIT = "edit"
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    PUBLISH = "publish"
    SUPERSEDE = "supersede"


_S, _E = VersionState, VersionEvent
TRANSITIONS: dict[tuple[VersionState, VersionEvent], VersionState] = {
    (_S.DRAFT, _E.EDIT): _S.DRAFT,
    (_S.DRAFT, _E.SUBMIT): _S.IN_REVIEW,
    (_S.IN_REVIEW, _E.APPROVE): _S.APPROVED,
    (_S.IN_REVIEW, _E.REJECT): _S.DRAFT,
    (_S.APPROVED, _E.PUBLISH): _S.PUBLISHED,
    (_S.PUBLISHED, _E.SUPERSEDE): _S.SUPERSEDED,
}
REVIEW_EVENTS = frozenset({_E.APPROVE, _E.REJECT})  # by somebody other than the author


def version_step(state: VersionState, event: VersionEvent, *, actor: str, author: str) -> VersionState:
    try:
        after = TRANSITIONS[(state, event)]
    except KeyError:
        allowed = sorted(e.value for (s, e) in TRANSITIONS if s is state)
        raise TransitionNotAllowed(f"a {state.value} version cannot {event.value}", state=state.value,
                                   event=event.value, allowed=allowed) from None  # fmt: skip
    if event in REVIEW_EVENTS and actor == author:
        raise SelfApproval(f"the author cannot {event.value} their own version; another person reviews it",
                           event=event.value)  # fmt: skip
    return after
