"""Read + plan throughput, as a ratio against bare ``csv.reader`` over the same file.

    .venv/bin/python benchmarks/plan_throughput.py [ROWS]

Both run side by side in one process on one generated file, so the ratio says what the plan
layer (parsing, phone normalisation, rendering, validation, keys) costs over reading alone.
"""

from __future__ import annotations

import csv
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from broadcaster.plan import Defaults, Message, plan
from broadcaster.reader import read_rows

HEADER = "phone_number,first_name,appointment,inbox_id,creator_id\n"
DEFAULTS = Defaults("bench", text="Hi {{first_name}}, see you {{appointment}}.")


def make_file(directory: Path, rows: int) -> Path:
    path = directory / "bench.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for n in range(rows):
            out.write(f"+1 (415) 555-{n % 10000:04d},Name{n},Tue {n % 12}:00,101,55\n")
    return path


def bare(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def planned(path: Path) -> int:
    with read_rows(str(path)) as rows:
        return sum(1 for record in rows if isinstance(plan(record, DEFAULTS), Message))


def timed(label: str, func: object, path: Path) -> float:
    start = time.perf_counter()
    count = func(path)  # type: ignore[operator]
    seconds = time.perf_counter() - start
    print(f"{label:<8} {count:>9} rows in {seconds:6.3f}s = {count / seconds:>10,.0f} rows/s")
    return seconds


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        path = make_file(Path(tmp), rows)
        base = min(timed("csv", bare, path) for _ in range(3))
        ours = min(timed("plan", planned, path) for _ in range(3))
        tracemalloc.start()
        planned(path)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print(f"ratio    plan/csv = {ours / base:.1f}x the time of reading alone")
    print(f"memory   peak {peak / 1024:.0f} KiB traced while planning {rows:,} rows")


if __name__ == "__main__":
    main()
