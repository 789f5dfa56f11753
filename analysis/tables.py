"""Render DataFrames as Markdown or aligned plain-text tables without extra dependencies.

``DataFrame.to_markdown`` needs the optional ``tabulate`` package; these few lines avoid it.
Floats are printed with a fixed number of decimals, NaN as an empty-looking ``-``.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import pandas as pd

__all__ = ["format_cell", "to_markdown", "to_text"]


def format_cell(value: object, decimals: int = 3) -> str:
    """One table cell: ints as ints, floats with ``decimals`` digits, NaN/None as ``-``."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        if math.isnan(float(value)):
            return "-"
        if math.isinf(float(value)):
            return "inf" if float(value) > 0 else "-inf"
        return f"{float(value):.{decimals}f}"
    text = str(value)
    return "-" if text in ("nan", "NaN", "<NA>") else text


def _cells(frame: pd.DataFrame, decimals: int) -> tuple[list[str], list[list[str]]]:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    header = [str(c) for c in frame.columns]
    body = [[format_cell(v, decimals) for v in row] for row in frame.itertuples(index=False, name=None)]
    return header, body


def to_markdown(frame: pd.DataFrame, decimals: int = 3) -> str:
    """GitHub-flavoured Markdown table of ``frame`` (index dropped; pipes in cells escaped)."""
    header, body = _cells(frame, decimals)

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    rule = "|" + "|".join("---:" if is_num else "---" for is_num in numeric) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in body)])


def to_text(frame: pd.DataFrame, decimals: int = 3) -> str:
    """Aligned plain-text table (numbers right-aligned, text left-aligned) for terminals."""
    header, body = _cells(frame, decimals)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]

    def line(cells: list[str]) -> str:
        aligned = zip(cells, widths, numeric, strict=True)
        parts = [c.rjust(w) if is_num else c.ljust(w) for c, w, is_num in aligned]
        return "  ".join(parts).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(row) for row in body)])
