"""
The benchmark script, run end to end in its quick mode.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPECTED_HEADERS = {
    "Scenario": ["Strategy", "Logins", "Failed"],
    "Client": ["Fixed header us", "Cached auth us", "Ratio"],
    "Container": ["Peak B", "Retained B", "B per token"],
}


def _tables(output: str) -> dict[str, list[dict[str, str]]]:
    """Each Markdown table printed, by its first header, as rows keyed by header."""
    tables: dict[str, list[dict[str, str]]] = {}
    block: list[list[str]] = []
    for line in [*output.splitlines(), ""]:
        if line.startswith("|"):
            block.append([cell.strip() for cell in line.strip("|").split("|")])
        elif block:
            headers, _, *rows = block
            tables[headers[0]] = [dict(zip(headers, row, strict=True)) for row in rows]
            block = []

    return tables


def test_quick_run_prints_its_tables_and_one_login_for_sequential_clients() -> None:
    """`bench.py --quick` exits 0, prints its tables, and counts one login in (a)."""
    completed = subprocess.run(
        [sys.executable, "benchmarks/bench.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    tables = _tables(completed.stdout)
    for first, others in EXPECTED_HEADERS.items():
        assert set(others) <= set(tables[first][0])
    logins = [
        row["Logins"]
        for row in tables["Scenario"]
        if row["Scenario"].startswith("(a)") and row["Strategy"] == "httpx_cached_auth"
    ]
    assert logins == ["1"]
