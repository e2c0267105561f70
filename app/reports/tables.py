"""What a report is made of: tables of numbers, each optionally drawn as bars (the chart
shows one column; every bar links to the rows behind it), and the one CSV form of a table:
dates ISO, money plain decimals, no thousands separators."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class Column:
    label: str
    kind: str = "text"  # text | int | money | pct | days | date


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[list] = field(default_factory=list)
    links: list[str | None] = field(default_factory=list)  # one per row: the rows behind it
    chart: int | None = None  # the column the bars show; None: no chart
    note: str | None = None
    empty: str = "Nothing in this range. Widen the dates or clear a filter."

    def add(self, row: list, link: str | None = None) -> None:
        self.rows.append(row)
        self.links.append(link)

    @property
    def bars(self) -> list[tuple[str, float, str, str | None]]:
        """(label, value, the value as shown, link) of each row, for the chart."""
        if self.chart is None:
            return []
        kind = self.columns[self.chart].kind
        return [(str(row[0]), float(row[self.chart] or 0), display(row[self.chart], kind), link)
                for row, link in zip(self.rows, self.links, strict=True)]


def display(value, kind: str) -> str:
    """A cell as the page shows it (the CSV has `plain`)."""
    if value is None:
        return "—"
    if kind == "money":
        return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"
    if kind == "pct":
        return f"{value:.1f}%"
    if kind == "days":
        return f"{value:.1f}"
    if kind == "int":
        return f"{value:,}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def plain(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}" if value.as_tuple().exponent >= -2 else str(value)
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "value"):  # an enum
        return str(value.value)
    return str(value)


def csv_lines(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """The CSV, a line at a time (a streamed response holds one row in memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(values) -> str:
        writer.writerow([_safe(plain(v)) for v in values])
        out = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return out

    yield line(header)
    for row in rows:
        yield line(row)


def _safe(text: str) -> str:
    """A cell a spreadsheet would run as a formula (=, +, -, @ first) is quoted as text;
    a plain negative number stays a number."""
    if text and text[0] in "=+-@\t\r":
        try:
            Decimal(text)
            return text
        except ArithmeticError:
            return "'" + text
    return text


def table_csv(table: Table) -> Iterator[str]:
    return csv_lines([c.label for c in table.columns], table.rows)
