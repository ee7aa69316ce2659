"""The shapes of the registry's names: slugs, domain names, app ids and e-mail addresses.

Kernel: vendors, associations, auditors and schemes share the slug rule, and
membership, complaints, the blacklist and the public site the domain, app id and e-mail
rules.
"""

from __future__ import annotations

import re

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
"""Lowercase letters, digits and inner hyphens, 1 to 64 characters."""
DOMAIN_PATTERN = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$"
)
"""A lowercase, fully qualified DNS name of at least two labels."""
APP_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{1,199}$")
"""An app's package or bundle id (`com.example.shop`), or a store's id for it, as given."""
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}\.[^@\s]{2,63}$")
"""An e-mail address as far as a form can tell (a local part, @, a dotted domain)."""
