"""Migration 0011 on both databases: listed domains become pending claims with a token
each, and downgrading restores one row per domain."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Connection, text

from registry.db.migrate import alembic_config
from registry.services import Services


def _to(connection: Connection, revision: str, *, down: bool) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


async def test_listed_domains_become_pending_claims_and_come_back(services: Services) -> None:
    engine = services.ctx.db.engine
    async with engine.begin() as connection:
        await connection.run_sync(lambda c: _to(c, "0007", down=True))
        await connection.execute(
            text(
                "INSERT INTO association (id, slug, name_zh, name_en, created_at) "
                "VALUES (1, 'csia', '协会', 'Association', CURRENT_TIMESTAMP)"
            )
        )
        await connection.execute(
            text(
                "INSERT INTO vendor (id, association_id, slug, credit_code, name_zh, name_en, "
                "status, created_at, updated_at) VALUES (1, 1, 'old-vendor', "
                "'91110108MA01ABCD1X', '旧', 'Old', 'active', CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)"
            )
        )
        await connection.execute(
            text(
                "INSERT INTO vendor_domain (vendor_id, domain) VALUES "
                "(1, 'old-vendor.com.cn'), (1, 'app.old-vendor.com.cn')"
            )
        )
        await connection.run_sync(lambda c: _to(c, "head", down=False))
        rows = (
            await connection.execute(
                text("SELECT domain, proof_token, verified_at FROM vendor_domain ORDER BY domain")
            )
        ).all()
    assert [row[0] for row in rows] == ["app.old-vendor.com.cn", "old-vendor.com.cn"]
    assert all(row[2] is None for row in rows)  # never proven: pending
    tokens = [row[1] for row in rows]
    assert all(len(token) >= 32 for token in tokens)
    assert tokens[0] != tokens[1]

    async with engine.begin() as connection:
        # A second vendor's pending claim on the same domain is allowed at head ...
        await connection.execute(
            text(
                "INSERT INTO vendor (id, association_id, slug, credit_code, name_zh, name_en, "
                "status, created_at, updated_at) VALUES (2, 1, 'claimant', "
                "'91110108MA01ABCE2X', '另', 'Other', 'active', CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)"
            )
        )
        await connection.execute(
            text(
                "INSERT INTO vendor_domain (vendor_id, domain, proof_token) "
                "VALUES (2, 'old-vendor.com.cn', 'another-token')"
            )
        )
        # ... and downgrading keeps one row per domain, the oldest claim.
        await connection.run_sync(lambda c: _to(c, "0007", down=True))
        rows = (
            await connection.execute(
                text("SELECT vendor_id, domain FROM vendor_domain ORDER BY domain")
            )
        ).all()
        await connection.run_sync(lambda c: _to(c, "head", down=False))
    assert [tuple(row) for row in rows] == [
        (1, "app.old-vendor.com.cn"),
        (1, "old-vendor.com.cn"),
    ]
