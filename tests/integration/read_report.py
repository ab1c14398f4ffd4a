#!/usr/bin/env python3
"""Reads a report file with an independent reader and prints what the tests compare, as JSON.

    read_report.py csv FILE    # Python's csv module (RFC 4180)
    read_report.py xlsx FILE   # openpyxl (Debian python3-openpyxl)

Prints {"bom", "header", "rows", "sums": {column: sum of its integer cells}, "sums_by_currency":
{currency: {column: sum}} (when the file has a currency column), ...}; for CSV also
whether rows end in CRLF, the line feeds without a carriage return before them ("bare_lf") and
the cells; for XLSX the frozen cell, the money columns' number format, whether the date columns
hold dates, the totals row's cached values ("totals" when there is one totals row,
"totals_by_currency" from every totals row that names its currency) and the column widths
({"A": 12.71, ...}: only the columns whose width the file sets).

XLSX amounts are major units in their currency's number format ("#,##0.00": 12.34 USD is the
number 12.34), or past what a double holds exactly the text of the decimal ("10000000009273.21").
Sums and totals are given back in minor units, each cell read as a decimal: a number is read by
Python's shortest repr of the double (12.34 for the double nearest 12.34), scaled by its format's
decimals; a cell that is not exactly such a decimal (12.339999999999 in "#,##0.00") is listed in
"inexact". "cells_by_currency" gives, per currency and amount column, each cell as written: [its
decimal text, its number format].
"""
import csv
import datetime
from decimal import Decimal
import io
import json
import re
import sys


TOTAL_LABEL = 'Tổng cộng / Total'


def sums_by_currency(header, body, currency_name):
    """{currency: {column: sum of its integer cells}} over the rows of each currency."""
    if currency_name not in header:
        return {}
    at = header.index(currency_name)
    out = {}
    for code in sorted({r[at] for r in body}):
        rows = [r for r in body if r[at] == code]
        sums = {}
        for i, name in enumerate(header):
            cells = [r[i] for r in rows]
            if cells and all(isinstance(c, int) or (isinstance(c, str) and c.lstrip('-').isdigit()) for c in cells):
                sums[name] = sum(int(c) for c in cells)
            elif cells and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in cells):
                sums[name] = int(sum(cells))
        out[code] = sums
    return out


def read_csv(path):
    raw = open(path, 'rb').read()
    bom = raw.startswith(b'\xef\xbb\xbf')
    text = raw[3:].decode('utf-8') if bom else raw.decode('utf-8')
    rows = list(csv.reader(io.StringIO(text, newline=''), strict=True))
    header, body = rows[0], rows[1:]
    sums = {}
    for i, name in enumerate(header):
        cells = [r[i] for r in body]
        if cells and all(c.lstrip('-').isdigit() for c in cells):
            sums[name] = sum(int(c) for c in cells)
    return {'bom': bom, 'crlf': b'\r\n' in raw, 'bare_lf': raw.count(b'\n') - raw.count(b'\r\n'),
            'header': header, 'rows': len(body), 'sums': sums, 'cells': body,
            'sums_by_currency': sums_by_currency(header, body, 'currency')}


DECIMAL_TEXT = re.compile(r'-?[0-9]+(\.[0-9]+)?')


def amount_of(cell, inexact):
    """(minor units, decimal text, number format) of an amount cell, or None when it holds none."""
    v = cell.value
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        fmt = cell.number_format
        digits = len(fmt.split('.', 1)[1]) if '.' in fmt else 0
        text = repr(v) if isinstance(v, float) else str(v)
    elif isinstance(v, str) and DECIMAL_TEXT.fullmatch(v):
        fmt = cell.number_format
        digits = len(v.split('.', 1)[1]) if '.' in v else 0
        text = v
    else:
        return None
    minor = Decimal(text).scaleb(digits)
    if minor != minor.to_integral_value():
        inexact.append(f'{cell.coordinate}: {text} in {fmt}')
    return int(minor), text, fmt


def read_xlsx(path):
    import openpyxl
    wb = openpyxl.load_workbook(path, data_only=True)
    ws = wb.active
    cells = list(ws.iter_rows())
    header, body = [c.value for c in cells[0]], cells[1:]
    # the totals: one row, or one per currency (each naming it in the currency column)
    total_rows = []
    while body and body[-1][0].value == TOTAL_LABEL:
        total_rows.insert(0, body[-1])
        body = body[:-1]
    total = total_rows[0] if len(total_rows) == 1 else None
    currency_name = 'Tiền tệ / Currency'
    at = header.index(currency_name) if currency_name in header else None
    inexact = []
    sums, formats, dates, totals, by_currency = {}, {}, {}, {}, {}
    amount_cols = set()
    for i, name in enumerate(header):
        column = [r[i] for r in body]
        read = [amount_of(c, inexact) for c in column]
        if column and all(x is not None for x in read) and any(isinstance(c.value, (int, float)) for c in column):
            amount_cols.add(i)
            sums[name] = sum(x[0] for x in read)
            formats[name] = column[0].number_format
            if total is not None:
                t = amount_of(total[i], inexact)
                if t is not None:
                    totals[name] = t[0]
            if at is not None:
                for r, x in zip(body, read):
                    by_currency.setdefault(r[at].value, {}).setdefault(name, []).append([x[1], x[2]])
        if column and all(isinstance(c.value, datetime.datetime) for c in column):
            dates[name] = [c.value.strftime('%Y-%m-%d') for c in column]
    # the rows as values, amounts in minor units, for the sums per currency
    values = [[amount_of(c, [])[0] if i in amount_cols else c.value for i, c in enumerate(r)] for r in body]
    totals_by_currency = {}
    if at is not None:
        for row in total_rows:
            totals_by_currency[row[at].value] = {
                name: amount_of(row[i], inexact)[0] for i, name in enumerate(header)
                if name in sums and amount_of(row[i], []) is not None}
    return {'header': header, 'rows': len(body), 'sums': sums, 'formats': formats, 'dates': dates,
            'totals': totals, 'totals_by_currency': totals_by_currency,
            'sums_by_currency': sums_by_currency(header, values, currency_name), 'freeze': ws.freeze_panes,
            'widths': {k: v.width for k, v in ws.column_dimensions.items()}, 'inexact': inexact,
            'cells_by_currency': by_currency}


if __name__ == '__main__':
    kind, path = sys.argv[1], sys.argv[2]
    print(json.dumps(read_csv(path) if kind == 'csv' else read_xlsx(path), ensure_ascii=False))
