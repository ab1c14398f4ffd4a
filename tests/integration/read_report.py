#!/usr/bin/env python3
"""Reads a report file with an independent reader and prints what the tests compare, as JSON.

    read_report.py csv FILE    # Python's csv module (RFC 4180)
    read_report.py xlsx FILE   # openpyxl (Debian python3-openpyxl)

Prints {"bom", "header", "rows", "sums": {column: sum of its integer cells}, ...}; for CSV also
whether rows end in CRLF, the line feeds without a carriage return before them ("bare_lf") and
the cells; for XLSX the frozen cell, the money columns' number format, whether the date columns
hold dates, the totals row's cached values and the column widths ({"A": 12.71, ...}: only the
columns whose width the file sets).
"""
import csv
import datetime
import io
import json
import sys


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
            'header': header, 'rows': len(body), 'sums': sums, 'cells': body}


def read_xlsx(path):
    import openpyxl
    wb = openpyxl.load_workbook(path, data_only=True)
    ws = wb.active
    rows = list(ws.iter_rows(values_only=True))
    header, body = list(rows[0]), rows[1:]
    total = body[-1] if body and body[-1][0] == 'Tổng cộng / Total' else None
    if total is not None:
        body = body[:-1]
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
    return {'header': header, 'rows': len(body), 'sums': sums, 'formats': formats, 'dates': dates,
            'totals': totals, 'freeze': ws.freeze_panes,
            'widths': {k: v.width for k, v in ws.column_dimensions.items()}}


if __name__ == '__main__':
    kind, path = sys.argv[1], sys.argv[2]
    print(json.dumps(read_csv(path) if kind == 'csv' else read_xlsx(path), ensure_ascii=False))
