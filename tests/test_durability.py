"""Power can be cut at any moment: nothing acknowledged is lost and the chain stays whole."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from checkpoint.store import verify_log

ROOT = Path(__file__).resolve().parent.parent


def test_sigkill_at_random_moments_loses_nothing_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    rng = random.Random(20260203)
    acknowledged: dict[int, str] = {}
    for _round in range(12):
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.durability_writer", str(path)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert process.stdout is not None
        # Wait until it writes at least one entry, then let it run a random while more.
        first = process.stdout.readline()
        assert first, process.stderr.read() if process.stderr else "writer died"
        time.sleep(rng.uniform(0.0, 0.25))
        process.send_signal(signal.SIGKILL)
        rest, _ = process.communicate()
        for line in [first, *rest.splitlines()]:
            if line.strip():
                seq, entry_id = line.split()
                acknowledged[int(seq)] = entry_id
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = dict(conn.execute("SELECT seq, id FROM entries"))
        conn.close()
        missing = {seq: eid for seq, eid in acknowledged.items() if stored.get(seq) != eid}
        assert not missing, f"acknowledged entries lost after kill: {sorted(missing)[:5]}"
        result = verify_log(path)
        assert result.ok, result.stations
    assert len(acknowledged) > 12
