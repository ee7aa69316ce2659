"""Read blocks change nothing, on both databases: what they write is rolled back."""

from __future__ import annotations

from sqlalchemy import text

from registry.services import Services


async def test_read_rows_rolls_back_what_it_wrote(services: Services) -> None:
    db = services.ctx.db
    async with db.read_rows() as connection:
        await connection.execute(text("INSERT INTO log_head (id, size) VALUES (77, 1)"))
    async with db.read_rows() as connection:
        found = await connection.execute(text("SELECT count(*) FROM log_head WHERE id = 77"))
        assert found.scalar_one() == 0
