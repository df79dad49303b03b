"""The workbook of the filed report (``checks.xlsx``): one sheet per table, as a planner reads it.

Row 1 holds the Chinese header, row 2 the English one, both with units; both rows are frozen.
Numbers stay numbers, rounded (areas whole m², shares as a percentage format, minutes one
decimal); verdicts and flags are 通过/未通过/无法评估 and 是/否; an unreachable distance is
"不可达 unreachable", never ``inf``; every sheet has a ``数据来源 / data sources`` column; column
widths follow the longest cell.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from analysis.report_format import column_kind, column_label, excel_value

#: Header rows of every sheet (Chinese, English).
HEADER_ROWS: int = 2
#: Column width limits (characters).
MIN_WIDTH, MAX_WIDTH = 8, 60
#: Number formats by column kind (:func:`analysis.report_format.column_kind`).
NUMBER_FORMATS: dict[str, str] = {"share": "0.0%", "minutes": "0.0", "area": "#,##0", "count": "#,##0", "metres": "#,##0"}


def _width(text: object) -> float:
    """Display width of a cell: CJK characters count twice."""
    s = "" if text is None else str(text)
    return sum(2 if ord(c) > 0x2E80 else 1 for c in s)


def sheet_frame(table: pd.DataFrame, sources: str) -> tuple[pd.DataFrame, list[tuple[str, str]], list[str]]:
    """A table's cells as the workbook holds them, its (Chinese, English) headers and its column kinds."""
    plain = pd.DataFrame(table.drop(columns="geometry", errors="ignore"))
    columns = [str(c) for c in plain.columns]
    kinds = [column_kind(c) for c in columns]
    cells = pd.DataFrame(
        [[excel_value(v, k) for v, k in zip(record, kinds, strict=True)] + [sources]
         for record in plain.itertuples(index=False, name=None)],
        columns=[*columns, "data sources"],
        dtype=object,
    )
    return cells, [column_label(c) for c in columns] + [("数据来源", "data sources")], kinds


def write_workbook(path: str | Path, tables: Mapping[str, pd.DataFrame], sources: str) -> None:
    """Write ``tables`` into one workbook, one sheet each (sheet names cut to 31 characters).

    Parameters
    ----------
    path : path
        The ``.xlsx`` file to write.
    tables : mapping of str to DataFrame
        Sheet name → table (a geometry column is left out).
    sources : str
        The data sources, written into every row's ``数据来源`` column.
    """
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    grey = PatternFill("solid", fgColor="F0F0F0")
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, table in tables.items():
            cells, labels, kinds = sheet_frame(table, sources)
            cells.to_excel(writer, sheet_name=name[:31], index=False, header=False, startrow=HEADER_ROWS)
            sheet = writer.sheets[name[:31]]
            for index, (zh, en) in enumerate(labels, start=1):
                for row, text in ((1, zh), (2, en)):
                    cell = sheet.cell(row=row, column=index, value=text)
                    cell.font, cell.fill = bold, grey
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
            for index, kind in enumerate(kinds, start=1):
                if kind in NUMBER_FORMATS:
                    for (cell,) in sheet.iter_rows(min_row=HEADER_ROWS + 1, min_col=index, max_col=index):
                        if isinstance(cell.value, int | float):
                            cell.number_format = NUMBER_FORMATS[kind]
            for index, column_cells in enumerate(sheet.iter_cols(min_row=1, max_row=min(sheet.max_row, 500)), start=1):
                longest = max((_width(c.value) for c in column_cells), default=0)
                sheet.column_dimensions[get_column_letter(index)].width = max(MIN_WIDTH, min(MAX_WIDTH, longest + 2))
            sheet.freeze_panes = sheet.cell(row=HEADER_ROWS + 1, column=1)
