"""Waiver self-approval cannot be dodged with a look-alike spelling of the requester's identity."""

from __future__ import annotations

from datetime import date

import pytest

from govkit.identity import identity_key, same_identity
from govkit.policy.waivers import Waiver, decide

REQUESTER = "alice@example.com"

LOOK_ALIKES = [
    "Alice@Example.com",
    "аlice@example.com",  # Cyrillic а
    "alicе@ехample.com",  # Cyrillic е, х
    "αlice@example.com",  # Greek alpha
    "al\u200bice@example.com",  # zero-width space
    "\u2060alice@example.com\ufeff",  # word joiner, BOM
    "Alice Liddell <alice@example.com>",
    "alice+waivers@example.com",
    "ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ",  # fullwidth
    "  ALICE@EXAMPLE.COM ",
    '"Alice" <Alice+x@EXAMPLE.com>',
]


@pytest.mark.parametrize("approver", LOOK_ALIKES)
def test_look_alike_approver_is_the_requester(approver: str) -> None:
    assert same_identity(REQUESTER, approver)
    waiver = Waiver.model_validate(
        {
            "id": "W",
            "rule": "R-1-1",
            "reason": "r",
            "ticket": "T",
            "expires": "2030-01-01",
            "requested_by": REQUESTER,
            "approved_by": ["carol@example.com", approver],
        }
    )
    decision = decide(
        waiver, rule_id="R-1-1", waivable=True, model="m", version="1", subject="s", as_of=date(2029, 1, 1)
    )
    assert decision.decision == "self-approved"


@pytest.mark.parametrize("other", ["bob@example.com", "alice@example.org", "alicia@example.com", "Alice"])
def test_different_people_stay_different(other: str) -> None:
    assert not same_identity(REQUESTER, other)


def test_names_without_address_compare_normalised() -> None:
    assert same_identity("Alice Liddell", "alice  liddell")
    assert same_identity("Bob", "Вob")  # Cyrillic В
    assert identity_key("Bob <>") == "bob"


@pytest.mark.parametrize("blank", ["\u200b", " ", "<>"])
def test_blank_identity_is_refused(blank: str) -> None:
    with pytest.raises(ValueError):
        Waiver.model_validate(
            {
                "id": "W",
                "rule": "R-1-1",
                "reason": "r",
                "ticket": "T",
                "expires": "2030-01-01",
                "requested_by": "alice@example.com",
                "approved_by": [blank],
            }
        )
