"""The blacklist's vocabulary in words: tiers, states, rule kinds, steps, choices, counts.

Message ids are the English words (translated in the catalogues); `blacklist_words` hands
a page every table in its language, so templates look a value up instead of spelling
out a chain of ifs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from public_site.i18n import N_, Language
from registry.complaints.messages import CATEGORY_NAMES

TIER_NAMES: Final = {
    "minor": N_("Minor"),
    "general": N_("General"),
    "serious": N_("Serious"),
}
LISTING_STATE_NAMES: Final = {
    "listed": N_("In force"),
    "retracted": N_("Retracted on appeal"),
    "repaired": N_("Ended by credit repair"),
    "expired": N_("Ended, period over"),
    "notice": N_("Notices of cases under way"),
}
CASE_STATE_NAMES: Final = {
    "awaiting_answer": N_("Awaiting the subject's answer"),
    "voting": N_("Committee voting"),
    "listed": N_("Listed"),
    "not_listed": N_("Decided not to list"),
    "lapsed": N_("Closed without a decision"),
}
RULE_KIND_NAMES: Final = {
    "substantiated_complaints": N_("Substantiated complaints"),
    "sla_breach_ratio": N_("Complaints answered late"),
    "personal_information_leak": N_("Personal-information leak"),
    "attestation_contradicted": N_("Self-attestation contradicted by an audit"),
}
SUBJECT_KIND_NAMES: Final = {
    "vendor": N_("Member vendor"),
    "domain": N_("Website domain"),
    "app_id": N_("App id"),
    "credit_code": N_("Unified social credit code"),
}
STEP_NAMES: Final = {
    "opened": N_("Case opened by the rule"),
    "notified": N_("Subject notified"),
    "answered": N_("Statement of defence received"),
    "answer_window_closed": N_("Time to answer ended"),
    "vote": N_("Committee vote"),
    "recusal": N_("Committee member stood aside"),
    "deadline_extended": N_("Decision deadline extended"),
    "decided": N_("Committee decision"),
    "lapsed": N_("Closed without a decision"),
    "listed": N_("Listed on the blacklist"),
    "appealed": N_("Appeal filed"),
    "panel_drawn": N_("Appeal panel drawn"),
    "appeal_decided": N_("Appeal decided"),
    "repair_applied": N_("Credit repair requested"),
    "repair_decided": N_("Credit repair decided"),
    "expired": N_("Listing ended, period over"),
    "retracted": N_("Listing retracted"),
}
BALLOT_NAMES: Final = {
    "case": N_("on the case"),
    "appeal": N_("on the appeal"),
    "repair": N_("on the credit repair"),
}
CHOICE_NAMES: Final = {
    "list": N_("to list"),
    "do_not_list": N_("not to list"),
    "uphold": N_("to uphold the listing"),
    "overturn": N_("to overturn the listing"),
    "grant": N_("to grant the repair"),
    "refuse": N_("to refuse the repair"),
    "abstain": N_("abstained"),
}
OUTCOME_NAMES: Final = {
    "listed": N_("listed"),
    "not_listed": N_("not listed"),
    "lapsed": N_("no quorum: closed without listing"),
    "overturned": N_("overturned: the listing is retracted"),
    "upheld": N_("upheld: the listing stands"),
    "granted": N_("granted: the listing ends early"),
    "refused": N_("refused: the listing stands"),
    "list": N_("list"),
    "do_not_list": N_("do not list"),
    "overturn": N_("overturn"),
    "uphold": N_("uphold"),
    "grant": N_("grant"),
    "refuse": N_("refuse"),
}
RECUSAL_NAMES: Final = {
    "affiliated": N_("affiliated with the subject"),
    "declared_conflict": N_("declared a conflict of interest"),
    "voluntary": N_("stood aside voluntarily"),
}
APPEAL_STATE_NAMES: Final = {
    "filed": N_("Filed, waiting for a panel"),
    "hearing": N_("Being heard by the panel"),
    "upheld": N_("Upheld: the listing stands"),
    "overturned": N_("Overturned: the listing is retracted"),
    "lapsed": N_("No decision in time: the listing stands"),
}
REPAIR_STATE_NAMES: Final = {
    "applied": N_("Applied, being decided"),
    "granted": N_("Granted: the listing ended early"),
    "refused": N_("Refused"),
    "lapsed": N_("No decision in time"),
}
COUNT_NAMES: Final = {
    "substantiated": N_("complaints substantiated"),
    "distinct_complainants": N_("different complainants"),
    "complaints": N_("complaints whose first response fell due"),
    "breached": N_("of them answered late or not at all"),
    "ratio": N_("share answered late"),
    "upheld_leak_complaints": N_("personal-information-leak complaints upheld by a mediator"),
    "audit_findings": N_("audit findings of a major nonconformity on information security"),
    "contradictions": N_("attested criteria contradicted by an audit"),
}
ITEM_NAMES: Final = {
    "complaint": N_("complaints"),
    "audit": N_("audits"),
    "attestation": N_("self-attestations"),
}
GOVERNANCE_NAMES: Final = {
    "member": N_("the vendor's own association"),
    "mediating_association": N_("the association whose mediators decided most of its complaints"),
    "default_association": N_("the federation's first association (no mediator decided any)"),
}
EFFECT_NAMES: Final = {
    "none": N_("The certificate is untouched; the listing is shown on the vendor's profile."),
    "suspend": N_("The certificate is suspended while the listing is in force."),
    "revoke": N_(
        "The certificate is suspended while the listing can be appealed, then revoked once "
        "it is final."
    ),
}
WORD_TABLES: Final[Mapping[str, Mapping[str, str]]] = {
    "tier_names": TIER_NAMES,
    "listing_state_names": LISTING_STATE_NAMES,
    "case_state_names": CASE_STATE_NAMES,
    "rule_kind_names": RULE_KIND_NAMES,
    "subject_kind_names": SUBJECT_KIND_NAMES,
    "step_names": STEP_NAMES,
    "ballot_names": BALLOT_NAMES,
    "choice_names": CHOICE_NAMES,
    "outcome_names": OUTCOME_NAMES,
    "recusal_names": RECUSAL_NAMES,
    "appeal_state_names": APPEAL_STATE_NAMES,
    "repair_state_names": REPAIR_STATE_NAMES,
    "count_names": COUNT_NAMES,
    "item_names": ITEM_NAMES,
    "governance_names": GOVERNANCE_NAMES,
    "effect_names": EFFECT_NAMES,
}


def blacklist_words(language: Language) -> dict[str, Any]:
    """Every table above in `language`, plus the complaint categories, for a template."""
    words: dict[str, Any] = {
        name: {key: language.gettext(message) for key, message in table.items()}
        for name, table in WORD_TABLES.items()
    }
    words["category_names"] = {
        key: text.in_language(language.code) for key, text in CATEGORY_NAMES.items()
    }
    return words
