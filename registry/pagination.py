"""One page shape for every list the registry serves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """A page of results with the total count of matches."""

    items: list[T]
    total: int
    offset: int
    limit: int
