"""/partners over HTTP: government partners sign in with a token or a signed challenge,
work in a Secure, HttpOnly, SameSite session, and sign out; a cookie that is not a live
partner session and a form without its token are refused, and change nothing."""

from __future__ import annotations

import json
import re

import httpx
from sqlalchemy import func, select

from attestations.envelope import sign_envelope
from attestations.keys import SigningKey
from registry.accounts.models import ApiToken
from registry.errors import AuthenticationFailed
from registry.kernel.caller import Role
from registry.services import Services
from tests.factories import member_vendor

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
FORM_TOKEN_FIELD = re.compile(r'name="form_token" value="([^"]+)"')


async def government_partner(services: Services, region: str) -> str:
    """A government partner scoped to `region`; returns its bearer token."""
    issued = await services.accounts.create_principal_with_token(
        role=Role.GOVERNMENT_PARTNER, display_name=f"market regulator {region}"
    )
    await services.reports.grant_partner_scope(issued.token_id, [region], [])
    return issued.token


def set_cookie(response: httpx.Response, name: str) -> str:
    """The Set-Cookie header for `name` (the whole line, attributes included)."""
    lines = [v for v in response.headers.get_list("set-cookie") if v.startswith(f"{name}=")]
    assert lines, f"no {name} cookie in {response.headers.get_list('set-cookie')}"
    return lines[-1]


def cookie_value(line: str) -> str:
    return line.split(";", 1)[0].split("=", 1)[1].strip('"')


async def request(
    api: httpx.AsyncClient, method: str, path: str, cookies: dict[str, str], **kwargs: object
) -> httpx.Response:
    """Send exactly these cookies (the client's jar would drop Secure ones over http)."""
    api.cookies.clear()
    header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    headers = {"Cookie": header} if header else {}
    return await api.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]


async def sign_in_form(api: httpx.AsyncClient) -> tuple[str, str]:
    """The sign-in page's double-submit token: (cookie value, form field)."""
    page = await request(api, "GET", "/partners", {})
    assert page.status_code == 200
    field = CSRF_FIELD.search(page.text)
    assert field is not None
    return cookie_value(set_cookie(page, "partner_csrf")), field.group(1)


async def token_count(services: Services) -> int:
    async with services.ctx.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(ApiToken)) or 0)


async def test_a_partner_signs_in_with_a_token_and_out_again(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    token = await government_partner(services, "110000")
    vendor = await member_vendor(services, association, "partner-page-vendor")
    csrf_cookie, csrf_field = await sign_in_form(api)
    before = await token_count(services)

    # Without the form's token, or with another page's, nothing happens.
    for cookies, form in (
        ({}, {"token": token, "csrf_token": csrf_field}),
        ({"partner_csrf": csrf_cookie}, {"token": token}),
        ({"partner_csrf": csrf_cookie}, {"token": token, "csrf_token": csrf_field + "x"}),
    ):
        refused = await request(api, "POST", "/partners/sign-in", cookies, data=form)
        assert refused.status_code == 403
        assert "partner_session=" not in refused.headers.get("set-cookie", "")
    assert await token_count(services) == before

    # A vendor's token is no partner's; a made-up one is no token.
    for other, status in ((vendor.token, 403), ("trt_made-up", 401)):
        refused = await request(
            api,
            "POST",
            "/partners/sign-in",
            {"partner_csrf": csrf_cookie},
            data={"token": other, "csrf_token": csrf_field},
        )
        assert refused.status_code == status
        assert "partner_session=" not in refused.headers.get("set-cookie", "")

    signed_in = await request(
        api,
        "POST",
        "/partners/sign-in",
        {"partner_csrf": csrf_cookie},
        data={"token": token, "csrf_token": csrf_field},
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["location"].startswith("/partners")
    line = set_cookie(signed_in, "partner_session")
    attributes = {part.strip().split("=")[0].lower() for part in line.split(";")[1:]}
    assert {"secure", "httponly", "samesite", "path"} <= attributes
    assert "samesite=strict" in line.lower()
    assert "path=/partners" in line.lower()
    session = cookie_value(line)
    assert session != token  # the browser holds a session of its own, not the token

    dashboard = await request(api, "GET", "/partners", {"partner_session": session})
    assert dashboard.status_code == 200
    assert 'id="sign-out-form"' in dashboard.text
    form_token = FORM_TOKEN_FIELD.search(dashboard.text)
    assert form_token is not None

    # A forged cookie is no session (401); another role's token is no partner's (403).
    for forged, status in (("trt_forged", 401), (vendor.token, 403)):
        refused = await request(api, "GET", "/partners", {"partner_session": forged})
        assert refused.status_code == status
        assert 'id="sign-out-form"' not in refused.text

    # Signing out needs the session's own form token.
    refused = await request(
        api, "POST", "/partners/sign-out", {"partner_session": session}, data={}
    )
    assert refused.status_code == 403
    still = await request(api, "GET", "/partners", {"partner_session": session})
    assert still.status_code == 200

    signed_out = await request(
        api,
        "POST",
        "/partners/sign-out",
        {"partner_session": session},
        data={"form_token": form_token.group(1)},
    )
    assert signed_out.status_code == 303
    assert "max-age=0" in set_cookie(signed_out, "partner_session").lower()
    after = await request(api, "GET", "/partners", {"partner_session": session})
    assert after.status_code == 401
    # The token the partner signed in with still works for its scripts.
    assert (await services.accounts.authenticate(token)).role is Role.GOVERNMENT_PARTNER
    try:
        await services.accounts.authenticate(session)
    except AuthenticationFailed:
        pass
    else:
        raise AssertionError("the session token outlived sign-out")


async def test_a_partner_signs_in_by_signing_a_challenge(
    api: httpx.AsyncClient, services: Services
) -> None:
    token = await government_partner(services, "310000")
    key = SigningKey.generate()
    await services.accounts.register_principal_key(token, key.public_key)
    csrf_cookie, csrf_field = await sign_in_form(api)

    unknown = await request(
        api,
        "POST",
        "/partners/challenge",
        {"partner_csrf": csrf_cookie},
        data={"key_id": "0" * 64, "csrf_token": csrf_field},
    )
    assert unknown.status_code == 404

    challenge = await request(
        api,
        "POST",
        "/partners/challenge",
        {"partner_csrf": csrf_cookie},
        data={"key_id": key.key_id, "csrf_token": csrf_field},
    )
    assert challenge.status_code == 200
    shown = re.search(
        r'<pre class="snippet" id="challenge" lang="en">([^<]+)</pre>', challenge.text
    )
    assert shown is not None
    payload = shown.group(1).replace("&#34;", '"').replace("&quot;", '"').encode()
    fresh_cookie = cookie_value(set_cookie(challenge, "partner_csrf"))
    fresh_field = CSRF_FIELD.search(challenge.text)
    assert fresh_field is not None

    wrong_key = sign_envelope(
        payload, [SigningKey.generate()], "application/vnd.trust-registry.login+json"
    )
    refused = await request(
        api,
        "POST",
        "/partners/sign-in/key",
        {"partner_csrf": fresh_cookie},
        data={"envelope": json.dumps(wrong_key.to_dict()), "csrf_token": fresh_field.group(1)},
    )
    assert refused.status_code == 401

    envelope = sign_envelope(payload, [key], "application/vnd.trust-registry.login+json")
    signed_in = await request(
        api,
        "POST",
        "/partners/sign-in/key",
        {"partner_csrf": fresh_cookie},
        data={"envelope": json.dumps(envelope.to_dict()), "csrf_token": fresh_field.group(1)},
    )
    assert signed_in.status_code == 303, signed_in.text
    session = cookie_value(set_cookie(signed_in, "partner_session"))
    dashboard = await request(api, "GET", "/partners", {"partner_session": session})
    assert dashboard.status_code == 200
    assert 'id="sign-out-form"' in dashboard.text
