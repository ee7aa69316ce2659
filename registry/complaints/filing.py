"""What a consumer submits, and the pure checks that turn it into a clean filing.

Every field is checked and every problem reported at once, each naming its field in
Chinese and English, so a person on a phone fixes the form in one round.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from registry.complaints.messages import (
    BAD_CREDIT_CODE,
    BAD_DATE,
    BAD_EMAIL,
    BAD_PHONE,
    BAD_REGION,
    BAD_SUBJECT,
    NEED_PHONE_OR_EMAIL,
    NOT_IN_LIST,
    REQUIRED,
    TOO_LONG,
    ComplaintInvalid,
    Text,
    field_problem,
)
from registry.complaints.models import ComplaintCategory, SubjectKind
from registry.complaints.pii import Contact
from registry.kernel import regions
from registry.kernel.credit_code import CreditCodeError, normalise_credit_code
from registry.kernel.patterns import APP_ID_PATTERN, DOMAIN_PATTERN, EMAIL_PATTERN
from registry.settings import Settings

PHONE_PATTERN = re.compile(r"^\+?[0-9][0-9 \-]{5,19}$")
E = TypeVar("E", ComplaintCategory, SubjectKind)


@dataclass(frozen=True)
class ComplaintSubmission:
    """A filing as typed by the consumer: every field a string, nothing trusted yet."""

    vendor: str = ""
    subject_kind: str = ""
    subject_value: str = ""
    product: str = ""
    category: str = ""
    description: str = ""
    desired_remedy: str = ""
    region: str = ""
    occurred_on: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    consent_to_share: bool = False
    language: str = "zh"


@dataclass(frozen=True)
class CleanFiling:
    """A submission that passed every check."""

    subject_kind: SubjectKind
    subject_value: str
    """Vendor slug, or the unregistered subject's normalised id."""
    product: str
    category: ComplaintCategory
    description: str
    desired_remedy: str
    region: str
    occurred_on: date
    contact: Contact
    consent_to_share: bool
    language: str


def clean_submission(form: ComplaintSubmission, settings: Settings, today: date) -> CleanFiling:
    """Check every field; raise ComplaintInvalid naming all the bad ones."""
    problems: dict[str, Text] = {}
    long_limit = settings.complaint_text_max_chars
    short_limit = settings.complaint_short_text_max_chars

    def text(field: str, value: str, limit: int, *, required: bool = True) -> str:
        cleaned, problem = checked_text(field, value, limit, required=required)
        if problem is not None:
            problems[field] = problem
        return cleaned

    kind, subject = _subject(form, problems)
    product = text("product", form.product, short_limit)
    description = text("description", form.description, long_limit)
    remedy = text("desired_remedy", form.desired_remedy, long_limit)
    category = _choice(ComplaintCategory, "category", form.category, problems)
    region = form.region.strip()
    if not regions.is_known(region):
        problems["region"] = field_problem(BAD_REGION if region else REQUIRED, "region")
    occurred = _past_date(form.occurred_on, today, problems)
    name = text("contact_name", form.contact_name, short_limit)
    phone = text("contact_phone", form.contact_phone, short_limit, required=False)
    email = text("contact_email", form.contact_email, short_limit, required=False)
    if not phone and not email:
        problems["contact_phone"] = field_problem(NEED_PHONE_OR_EMAIL, "contact_phone")
    if phone and "contact_phone" not in problems and not PHONE_PATTERN.match(phone):
        problems["contact_phone"] = field_problem(BAD_PHONE, "contact_phone")
    if email and "contact_email" not in problems and not EMAIL_PATTERN.match(email):
        problems["contact_email"] = field_problem(BAD_EMAIL, "contact_email")
    if problems or kind is None or category is None or occurred is None:
        raise ComplaintInvalid(problems)
    return CleanFiling(
        subject_kind=kind,
        subject_value=subject,
        product=product,
        category=category,
        description=description,
        desired_remedy=remedy,
        region=region,
        occurred_on=occurred,
        contact=Contact(name=name, phone=phone or None, email=email.lower() or None),
        consent_to_share=form.consent_to_share,
        language=form.language if form.language in {"zh", "en"} else "zh",
    )


def checked_text(
    field: str, value: str, limit: int, *, required: bool = True
) -> tuple[str, Text | None]:
    """The trimmed text, and what is wrong with it (empty when required, or too long)."""
    cleaned = value.strip()
    if required and not cleaned:
        return cleaned, field_problem(REQUIRED, field)
    if len(cleaned) > limit:
        return cleaned, field_problem(TOO_LONG, field, limit=limit)
    return cleaned, None


def _choice(kind: type[E], field: str, raw: str, problems: dict[str, Text]) -> E | None:
    value = raw.strip()
    if not value:
        problems[field] = field_problem(REQUIRED, field)
        return None
    try:
        return kind(value)
    except ValueError:
        problems[field] = field_problem(NOT_IN_LIST, field)
        return None


def _subject(  # noqa: PLR0911 - one early return per kind of subject
    form: ComplaintSubmission, problems: dict[str, Text]
) -> tuple[SubjectKind | None, str]:
    """A member vendor by slug, or an unregistered subject by domain, app id or credit code."""
    raw_kind = form.subject_kind.strip() or ("vendor" if form.vendor.strip() else "")
    if not raw_kind:
        problems["vendor"] = field_problem(REQUIRED, "vendor")
        return None, ""
    kind = _choice(SubjectKind, "subject_kind", raw_kind, problems)
    if kind is None:
        return None, ""
    if kind is SubjectKind.VENDOR:
        slug = form.vendor.strip().lower()
        if not slug:
            problems["vendor"] = field_problem(REQUIRED, "vendor")
        return kind, slug
    value = form.subject_value.strip()
    if not value:
        problems["subject_value"] = field_problem(REQUIRED, "subject_value")
        return kind, ""
    if kind is SubjectKind.CREDIT_CODE:
        try:
            return kind, normalise_credit_code(value)
        except CreditCodeError:
            problems["subject_value"] = field_problem(BAD_CREDIT_CODE, "subject_value")
            return kind, ""
    if kind is SubjectKind.DOMAIN:
        domain = value.lower().rstrip(".")
        if not DOMAIN_PATTERN.match(domain):
            problems["subject_value"] = field_problem(BAD_SUBJECT, "subject_value")
        return kind, domain
    if not APP_ID_PATTERN.match(value):
        problems["subject_value"] = field_problem(BAD_SUBJECT, "subject_value")
    return kind, value


def _past_date(raw: str, today: date, problems: dict[str, Text]) -> date | None:
    value = raw.strip()
    if not value:
        problems["occurred_on"] = field_problem(REQUIRED, "occurred_on")
        return None
    try:
        moment = date.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment > today:
        problems["occurred_on"] = field_problem(BAD_DATE, "occurred_on")
        return None
    return moment
