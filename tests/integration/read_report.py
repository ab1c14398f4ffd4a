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
"""
import csv
import datetime
import io
import json
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


def read_xlsx(path):
    import openpyxl
    wb = openpyxl.load_workbook(path, data_only=True)
    ws = wb.active
    rows = list(ws.iter_rows(values_only=True))
    header, body = list(rows[0]), rows[1:]
    # the totals: one row, or one per currency (each naming it in the currency column)
    total_rows = []
    while body and body[-1][0] == TOTAL_LABEL:
        total_rows.insert(0, body[-1])
        body = body[:-1]
    total = total_rows[0] if len(total_rows) == 1 else None
    sums, formats, dates, totals = {}, {}, {}, {}
    for i, name in enumerate(header):
        cells = [r[i] for r in body]
        if cells and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in cells):
            sums[name] = int(sum(cells))
            formats[name] = ws.cell(row=2, column=i + 1).number_format
            if total is not None and total[i] is not None:
                totals[name] = int(total[i])
        if cells and all(isinstance(c, datetime.datetime) for c in cells):
            dates[name] = [c.strftime('%Y-%m-%d') for c in cells]
    currency_name = 'Tiền tệ / Currency'
    totals_by_currency = {}
    if currency_name in header:
        at = header.index(currency_name)
        for row in total_rows:
            totals_by_currency[row[at]] = {name: int(row[i]) for i, name in enumerate(header)
                                           if name in sums and row[i] is not None}
    return {'header': header, 'rows': len(body), 'sums': sums, 'formats': formats, 'dates': dates,
            'totals': totals, 'totals_by_currency': totals_by_currency,
            'sums_by_currency': sums_by_currency(header, body, currency_name), 'freeze': ws.freeze_panes,
            'widths': {k: v.width for k, v in ws.column_dimensions.items()}}


if __name__ == '__main__':
    kind, path = sys.argv[1], sys.argv[2]
    print(json.dumps(read_csv(path) if kind == 'csv' else read_xlsx(path), ensure_ascii=False))
