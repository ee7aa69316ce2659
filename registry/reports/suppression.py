"""Small-cell suppression that cannot be undone from the figures a table does show.

A count table is published with its row totals, column totals and grand total. Treat the
table with its margins as an (R+1) × (C+1) grid: every row and every column of it is one
linear equation (the cells add up to the margin). A suppressed cell can be recovered
exactly when those equations pin it down, and for such a two-way table that happens
precisely when the cell, seen as an edge between its row and its column in the bipartite
graph of suppressed cells, lies on no cycle (a *bridge*): a cycle lets a reader add +t and
−t alternately around it and keep every published total, so every cell on it has at least
two possible values, and since suppressed cells are never zero, t = ±1 keeps them all
non-negative as well (Cox, "Suppression methodology and statistical disclosure control",
JASA 1980; the "no line with a single suppression" rule is the first step of it).

The rule:
1. **primary**: a count with 0 < n < k is suppressed (k = 10 public, 3 for partners);
   zero is shown, as a true zero reveals nobody;
2. **secondary**: while some suppressed cell is a bridge, suppress the cheapest path of
   shown, non-zero cells that closes a cycle through it (the path's cost is the sum of its
   values, inner cells before margins, so the least information is withheld).

`RULE_VERSION` names this rule in every report; a change to it is a new version.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

RULE_VERSION = "cox-cycle-1"
"""Primary threshold k, zeros shown, complementary cells closing a cycle through every
suppressed cell (see the module docstring); rates need a denominator of 30."""
MIN_RATE_DENOMINATOR = 30
WILSON_Z = 1.959963984540054
"""The standard normal quantile for a two-sided 95% interval."""
_MARGIN_PENALTY = 1_000_000
"""Added to a margin's cost so a total is withheld only when no inner path exists."""


class CellStatus(StrEnum):
    """Why a cell shows its figure or not."""

    SHOWN = "shown"
    SUPPRESSED_PRIMARY = "suppressed_primary"
    """Below the threshold itself (or a rate's denominator below 30)."""
    SUPPRESSED_SECONDARY = "suppressed_secondary"
    """Withheld so that a primary cell cannot be worked out from the figures shown."""
    NOT_APPLICABLE = "not_applicable"
    """The measure has no meaning here (no denominator at all, outside the scope)."""


@dataclass(frozen=True, slots=True)
class SuppressedGrid:
    """The status of every cell of a table with its margins: `status[r][c]` for
    r in 0..R (R = the totals row) and c in 0..C (C = the totals column)."""

    status: tuple[tuple[CellStatus, ...], ...]


def with_margins(cells: Sequence[Sequence[int]]) -> list[list[int]]:
    """The table with a totals column appended to each row and a totals row at the end."""
    rows = [[*row, sum(row)] for row in cells]
    width = len(rows[0]) if rows else 1
    totals = [sum(row[c] for row in rows) for c in range(width)]
    return [*rows, totals]


def suppress(cells: Sequence[Sequence[int]], k: int) -> SuppressedGrid:
    """Statuses for `cells` (R × C counts, R, C ≥ 1) published with all their margins."""
    grid = with_margins(cells)
    height, width = len(grid), len(grid[0])
    suppressed: set[tuple[int, int]] = set()
    primary: set[tuple[int, int]] = set()
    for r in range(height):
        for c in range(width):
            if 0 < grid[r][c] < k:
                primary.add((r, c))
    suppressed |= primary
    while bridges := _bridges(suppressed):
        touched: set[tuple[str, int]] = set()
        for bridge in bridges:
            if _node_row(bridge[0]) in touched or _node_col(bridge[1]) in touched:
                continue  # a path added this round may have closed it: look again next round
            path = _cheapest_closing_path(grid, suppressed, bridge)
            if path is None:
                path = _whole_lines(grid, suppressed, bridge)
                if not path:
                    return _statuses(height, width, primary, suppressed)
            # An empty path: a path added earlier this round already closed a cycle
            # through the bridge; the next round's search confirms it.
            suppressed.update(path)
            for r, c in [bridge, *path]:
                touched.update({_node_row(r), _node_col(c)})
    return _statuses(height, width, primary, suppressed)


def _statuses(
    height: int, width: int, primary: set[tuple[int, int]], suppressed: set[tuple[int, int]]
) -> SuppressedGrid:
    return SuppressedGrid(
        tuple(
            tuple(
                CellStatus.SUPPRESSED_PRIMARY
                if (r, c) in primary
                else CellStatus.SUPPRESSED_SECONDARY
                if (r, c) in suppressed
                else CellStatus.SHOWN
                for c in range(width)
            )
            for r in range(height)
        )
    )


def _whole_lines(
    grid: list[list[int]], suppressed: set[tuple[int, int]], bridge: tuple[int, int]
) -> list[tuple[int, int]]:
    """No non-zero path closes a cycle: withhold the bridge's whole row and column
    instead (their non-zero cells; at worst the totals are all that is shown)."""
    r, c = bridge
    line = [(r, j) for j in range(len(grid[0]))] + [(i, c) for i in range(len(grid))]
    return [cell for cell in line if cell not in suppressed and grid[cell[0]][cell[1]] > 0]


def _node_row(r: int) -> tuple[str, int]:
    return ("r", r)


def _node_col(c: int) -> tuple[str, int]:
    return ("c", c)


def _adjacency(
    edges: set[tuple[int, int]],
) -> dict[tuple[str, int], list[tuple[str, int]]]:
    graph: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for r, c in edges:
        graph.setdefault(_node_row(r), []).append(_node_col(c))
        graph.setdefault(_node_col(c), []).append(_node_row(r))
    return graph


def _bridges(edges: set[tuple[int, int]]) -> list[tuple[int, int]]:
    """The suppressed cells on no cycle of suppressed cells (the bridges of the bipartite
    graph), by Tarjan's low-link search in O(V + E), in order."""
    graph = _adjacency(edges)
    order: dict[tuple[str, int], int] = {}
    low: dict[tuple[str, int], int] = {}
    bridges: list[tuple[int, int]] = []
    for root in sorted(graph):
        if root in order:
            continue
        order[root] = low[root] = len(order)
        stack: list[tuple[tuple[str, int], tuple[str, int] | None, int]] = [(root, None, 0)]
        while stack:
            node, parent, next_index = stack[-1]
            neighbours = graph[node]
            if next_index < len(neighbours):
                stack[-1] = (node, parent, next_index + 1)
                nxt = neighbours[next_index]
                if nxt == parent:
                    continue  # edges are unique (one cell per row x column), so skip it once
                if nxt in order:
                    low[node] = min(low[node], order[nxt])
                else:
                    order[nxt] = low[nxt] = len(order)
                    stack.append((nxt, node, 0))
                continue
            stack.pop()
            if parent is not None:
                low[parent] = min(low[parent], low[node])
                if low[node] > order[parent]:
                    bridges.append(_cell(parent, node))
    return sorted(bridges)


def _cell(a: tuple[str, int], b: tuple[str, int]) -> tuple[int, int]:
    """The cell joining a row node and a column node."""
    return (a[1], b[1]) if a[0] == "r" else (b[1], a[1])


def _cheapest_closing_path(
    grid: list[list[int]], suppressed: set[tuple[int, int]], bridge: tuple[int, int]
) -> list[tuple[int, int]] | None:
    """The shown non-zero cells of the cheapest row↔column path from the bridge's row to
    its column that avoids the bridge itself (suppressed cells cost nothing): empty when
    suppressed cells alone close it, None when no path exists."""
    height, width = len(grid), len(grid[0])
    start, goal = _node_row(bridge[0]), _node_col(bridge[1])
    best: dict[tuple[str, int], float] = {start: 0}
    came: dict[tuple[str, int], tuple[tuple[str, int], tuple[int, int]]] = {}
    queue: list[tuple[float, tuple[str, int]]] = [(0, start)]
    while queue:
        cost, node = heapq.heappop(queue)
        if node == goal:
            break
        if cost > best.get(node, math.inf):
            continue
        kind, index = node
        neighbours = (
            [((index, c), _node_col(c)) for c in range(width)]
            if kind == "r"
            else [((r, index), _node_row(r)) for r in range(height)]
        )
        for cell, nxt in neighbours:
            if cell == bridge:
                continue
            value = grid[cell[0]][cell[1]]
            if cell in suppressed:
                step = 0.0
            elif value <= 0:
                continue
            else:
                margin = cell[0] == height - 1 or cell[1] == width - 1
                step = value + (_MARGIN_PENALTY if margin else 0)
            total = cost + step
            if total < best.get(nxt, math.inf):
                best[nxt] = total
                came[nxt] = (node, cell)
                heapq.heappush(queue, (total, nxt))
    if goal not in came:
        return None
    path: list[tuple[int, int]] = []
    node = goal
    while node != start:
        node, cell = came[node]
        if cell not in suppressed:
            path.append(cell)
    return path


@dataclass(frozen=True, slots=True)
class WilsonInterval:
    """A proportion with its Wilson score 95% interval (Wilson, JASA 1927)."""

    value: float
    low: float
    high: float


def wilson(successes: int, trials: int) -> WilsonInterval:
    """p̂ with its Wilson 95% interval; better than p̂ ± z·se near 0 and 1 and for small n."""
    if trials <= 0:
        raise ValueError("a rate needs at least one trial")
    p = successes / trials
    z2 = WILSON_Z * WILSON_Z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = WILSON_Z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    return WilsonInterval(p, max(0.0, centre - half), min(1.0, centre + half))


def rate_status(denominator: int, denominator_status: CellStatus) -> CellStatus:
    """A rate's status: shown only over a shown denominator of at least 30."""
    if denominator == 0:
        return CellStatus.NOT_APPLICABLE
    if denominator < MIN_RATE_DENOMINATOR:
        return CellStatus.SUPPRESSED_PRIMARY
    if denominator_status is not CellStatus.SHOWN:
        return CellStatus.SUPPRESSED_SECONDARY
    return CellStatus.SHOWN
