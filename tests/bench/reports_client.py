#!/usr/bin/env python3
"""Times report requests for tests/bench/reports: each path N times over one keep-alive
connection, after one unmeasured warm-up request; prints "p50_ms p99_ms rows" per path.

    reports_client.py PORT TOKEN N PATH
"""
import http.client
import json
import sys
import time


def main():
    port, token, n, path = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=600)
    headers = {'Authorization': 'Bearer ' + token}
    times, rows = [], 0
    for i in range(n + 1):
        start = time.perf_counter()
        conn.request('GET', path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        took = (time.perf_counter() - start) * 1000
        if resp.status != 200:
            sys.exit('%s answered %d: %s' % (path, resp.status, body[:300]))
        if i > 0:
            times.append(took)
        rows = len(json.loads(body)['data'])
    times.sort()
    p50 = times[len(times) // 2]
    p99 = times[min(len(times) - 1, (len(times) * 99 + 99) // 100 - 1)]
    print('%.1f %.1f %d' % (p50, p99, rows))


if __name__ == '__main__':
    main()
