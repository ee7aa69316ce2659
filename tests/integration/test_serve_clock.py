"""`registry serve --now T`: a throwaway server whose clock starts at T and runs on (the
README's blacklist walkthrough moves a federation three months ahead with it)."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from bench.serving import REGISTRY, free_port, registry_env, wait_until_ready
from registry.app import clock_of
from registry.kernel.clock import OffsetClock, SystemClock, parse_iso
from registry.settings import CLOCK_OFFSET_VARIABLE, Settings

pytestmark = pytest.mark.slow

LATER = "2030-03-04T05:06:07Z"


def test_the_server_tells_the_time_it_was_started_at(tmp_path: Path) -> None:
    port = free_port()
    with subprocess.Popen(
        [REGISTRY, "serve", "--port", str(port), "--now", LATER],
        env=registry_env(tmp_path / "var", ""),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    ) as server:
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_until_ready(base_url, server)
            with httpx.Client(base_url=base_url, timeout=30) as client:
                filed = client.post(
                    "/api/v1/complaints/",
                    json={
                        "subject_kind": "domain",
                        "subject_value": "shop.example.cn",
                        "product": "会员",
                        "category": "billing_refund",
                        "description": "自动续费无法取消",
                        "desired_remedy": "退款",
                        "region": "110000",
                        "occurred_on": "2030-03-01",
                        "contact_name": "王芳",
                        "contact_email": "wangfang@example.cn",
                        "consent_to_share": False,
                    },
                )
                assert filed.status_code == 201, filed.text
                thread = client.get(
                    f"/api/v1/complaints/{filed.json()['tracking_code']}",
                    headers={"X-Complaint-Secret": filed.json()["secret"]},
                ).json()
        finally:
            server.terminate()
            output = server.communicate(timeout=60)[0].decode()
    filed_at = parse_iso(thread["filed_at"])
    assert parse_iso(LATER) <= filed_at < parse_iso(LATER) + timedelta(minutes=5)
    assert f"the server's clock runs from {LATER}" in output


def test_a_bad_start_or_offset_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = subprocess.run(
        [REGISTRY, "serve", "--port", str(free_port()), "--now", "next tuesday"],
        env=registry_env(tmp_path / "var", ""),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert refused.returncode == 1
    assert "--now must be an ISO 8601 time with a zone" in refused.stderr
    assert "Traceback" not in refused.stderr

    monkeypatch.delenv(CLOCK_OFFSET_VARIABLE, raising=False)
    assert isinstance(clock_of(Settings.from_env()), SystemClock)
    monkeypatch.setenv(CLOCK_OFFSET_VARIABLE, "86400")
    shifted = clock_of(Settings.from_env())
    assert isinstance(shifted, OffsetClock)
    assert shifted.offset == timedelta(days=1)
    monkeypatch.setenv(CLOCK_OFFSET_VARIABLE, "a day")
    with pytest.raises(SystemExit, match="must be a whole number"):
        Settings.from_env()
