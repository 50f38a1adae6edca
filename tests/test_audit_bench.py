"""`checkpoint bench audit` in miniature: it builds, queries, exports and verifies (no timing asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from checkpoint.paths import Home
from tests.conftest import run_cli


def test_bench_audit_runs_small(tmp_path: Path) -> None:
    home = Home(tmp_path / "h").ensure()
    log = tmp_path / "bench.db"
    result = run_cli(
        home, "bench", "audit", "--entries", "3000", "--repeat", "1", "--log", str(log), "--json"
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["entries"] == 3000 and figures["verify_ok"] is True
    assert set(figures["query_p95_by_filter_ms"]) >= {"station", "plate digits", "operator", "fevers"}
    assert figures["export_rows_per_s"] > 0 and figures["verify_entries_per_s"] > 0
    again = run_cli(home, "bench", "audit", "--log", str(log), "--repeat", "1")  # reuses the built log
    assert again.exit_code == 0, again.output
    assert "filter page p95" in again.output and "full verification" in again.output
