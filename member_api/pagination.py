"""Page and page size query parameters, bounded by settings."""

from __future__ import annotations

from typing import Annotated

from litestar.params import QueryParameter

PageNumber = Annotated[int, QueryParameter(ge=1, le=1_000_000, description="1-based page")]
PageSize = Annotated[int, QueryParameter(ge=1, le=100, description="items per page, at most 100")]


def offset_of(page: int, page_size: int) -> int:
    """Row offset of a 1-based page."""
    return (page - 1) * page_size
