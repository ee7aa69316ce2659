"""Small-cell suppression cannot be undone from the row, column and grand totals shown.

For random tables the test writes down every equation a reader has (each row of cells
adds up to its row total, each column to its column total, the margins to the grand
total), keeps the suppressed cells as unknowns and checks, by exact rational Gaussian
elimination, that no suppressed cell is determined: its unit vector is not in the row
space of the equations. Suppressed cells are never zero, so a small step along the
freedom the equations leave keeps every cell non-negative: not even bounds pin them.
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from registry.reports.suppression import (
    MIN_RATE_DENOMINATOR,
    CellStatus,
    rate_status,
    suppress,
    wilson,
    with_margins,
)

Cell = tuple[int, int]


def _equations(height: int, width: int) -> list[dict[Cell, int]]:
    """Coefficients of every published sum over the (R+1) × (C+1) grid with margins."""
    rows_total, cols_total = height - 1, width - 1
    equations: list[dict[Cell, int]] = []
    for r in range(height):
        equation = {(r, c): 1 for c in range(cols_total)}
        equation[(r, cols_total)] = -1
        equations.append(equation)
    for c in range(width):
        equation = {(r, c): 1 for r in range(rows_total)}
        equation[(rows_total, c)] = -1
        equations.append(equation)
    return equations


def _rank(rows: list[list[Fraction]]) -> int:
    matrix = [row[:] for row in rows]
    rank = 0
    width = len(matrix[0]) if matrix else 0
    for column in range(width):
        pivot = next((i for i in range(rank, len(matrix)) if matrix[i][column] != 0), None)
        if pivot is None:
            continue
        matrix[rank], matrix[pivot] = matrix[pivot], matrix[rank]
        for i in range(len(matrix)):
            if i != rank and matrix[i][column] != 0:
                factor = matrix[i][column] / matrix[rank][column]
                matrix[i] = [a - factor * b for a, b in zip(matrix[i], matrix[rank], strict=True)]
        rank += 1
    return rank


def determined_cells(grid: list[list[int]], hidden: set[Cell]) -> set[Cell]:
    """The hidden cells whose value the published figures fix exactly."""
    unknowns = sorted(hidden)
    if not unknowns:
        return set()
    position = {cell: i for i, cell in enumerate(unknowns)}
    matrix = []
    for equation in _equations(len(grid), len(grid[0])):
        row = [Fraction(0)] * len(unknowns)
        for cell, coefficient in equation.items():
            if cell in position:
                row[position[cell]] = Fraction(coefficient)
        if any(row):
            matrix.append(row)
    base = _rank(matrix) if matrix else 0
    determined = set()
    for cell in unknowns:
        unit = [Fraction(0)] * len(unknowns)
        unit[position[cell]] = Fraction(1)
        if _rank([*matrix, unit]) == base:
            determined.add(cell)
    return determined


tables = st.integers(1, 6).flatmap(
    lambda rows: st.integers(1, 6).flatmap(
        lambda cols: st.lists(
            st.lists(
                st.one_of(st.just(0), st.integers(1, 12), st.integers(10, 200)),
                min_size=cols,
                max_size=cols,
            ),
            min_size=rows,
            max_size=rows,
        )
    )
)


@settings(max_examples=400, deadline=None)
@given(cells=tables, k=st.sampled_from([3, 10]))
def test_no_suppressed_cell_can_be_recomputed_from_the_figures_shown(
    cells: list[list[int]], k: int
) -> None:
    grid = with_margins(cells)
    status = suppress(cells, k).status
    hidden = {
        (r, c)
        for r, row in enumerate(status)
        for c, s in enumerate(row)
        if s is not CellStatus.SHOWN
    }
    for r, c in hidden:
        assert grid[r][c] > 0, "a zero is shown, never withheld"
    for r, row in enumerate(grid):
        for c, value in enumerate(row):
            if 0 < value < k:
                assert status[r][c] is CellStatus.SUPPRESSED_PRIMARY
            elif status[r][c] is CellStatus.SUPPRESSED_PRIMARY:
                raise AssertionError(f"{value} is not below k={k} yet primary")
    assert determined_cells(grid, hidden) == set()


def test_a_cycle_closed_by_an_earlier_path_of_the_same_round_does_not_stop_the_search() -> None:
    """Found by the property test: closing (0, 3) also closed the other bridges of that
    round, and the empty path they then got ended the search with row 1's total (2, from
    the grand total 6 minus row 0's 4) still recoverable."""
    cells = [[0, 0, 0, 1, 3], [0, 0, 1, 0, 1]]
    status = suppress(cells, 3).status
    hidden = {
        (r, c)
        for r, row in enumerate(status)
        for c, s in enumerate(row)
        if s is not CellStatus.SHOWN
    }
    assert determined_cells(with_margins(cells), hidden) == set()


def test_a_lone_small_cell_takes_a_partner_in_its_row_and_column() -> None:
    status = suppress([[50, 4], [60, 70]], 10).status
    hidden = {(r, c) for r in range(3) for c in range(3) if status[r][c] is not CellStatus.SHOWN}
    assert status[0][1] is CellStatus.SUPPRESSED_PRIMARY
    assert len(hidden) >= 4  # a cycle: two rows × two columns at least
    assert determined_cells(with_margins([[50, 4], [60, 70]]), hidden) == set()


def test_the_check_itself_finds_a_recoverable_cell() -> None:
    # Only the small cell hidden: its row total gives it away.
    assert determined_cells(with_margins([[50, 4], [60, 70]]), {(0, 1)}) == {(0, 1)}


def test_rates_need_thirty_and_carry_a_wilson_interval() -> None:
    assert rate_status(29, CellStatus.SHOWN) is CellStatus.SUPPRESSED_PRIMARY
    assert rate_status(MIN_RATE_DENOMINATOR, CellStatus.SHOWN) is CellStatus.SHOWN
    assert rate_status(40, CellStatus.SUPPRESSED_SECONDARY) is CellStatus.SUPPRESSED_SECONDARY
    assert rate_status(0, CellStatus.SHOWN) is CellStatus.NOT_APPLICABLE
    interval = wilson(24, 30)
    # Known answer: p = 0.8, n = 30 -> Wilson 95% [0.6269, 0.9049].
    assert round(interval.low, 4) == 0.6269
    assert round(interval.high, 4) == 0.9049
    assert wilson(0, 40).low == 0.0
