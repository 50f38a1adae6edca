"""The county store on a real PostgreSQL server: init and roles, bundle import, verification, the rollup."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from checkpoint import county
from checkpoint.models import Reason
from checkpoint.paths import Home
from checkpoint.store import LogStore
from checkpoint.timeutil import utcnow
from tests.conftest import run_cli
from tests.test_audit_data import draft
from tests.test_bundle import _append, _enrolled, _export, _rows, _station, enrol


@pytest.fixture
def url(county_url: str) -> str:
    return county_url


@pytest.fixture
def office(tmp_path: Path, url: str) -> Home:
    home = Home(tmp_path / "county").ensure()
    home.config.write_text(f'[station]\nid = "county"\n\n[log]\ndatabase = "{url}"\n', encoding="utf-8")
    return home


def _pg_rows(url: str) -> list[tuple[str, int, str]]:
    with psycopg.connect(url) as conn:
        return [
            (str(a), int(b), str(c))
            for a, b, c in conn.execute("SELECT station_id, seq, hash FROM entries ORDER BY station_id, seq")
        ]


def _imported(tmp_path: Path, office: Home, entries: int) -> Home:
    """A station north-gate with `entries` entries, exported and imported into the county."""
    north = _enrolled(tmp_path, office, "north-gate")
    _append(north, "north-gate", entries)
    _export(north, tmp_path / "n.bundle")
    result = run_cli(office, "bundle", "import", str(tmp_path / "n.bundle"))
    assert result.exit_code == 0, result.output
    return north


def test_init_is_versioned_and_runs_twice(url: str, office: Home) -> None:
    again = run_cli(office, "county", "init")
    assert again.exit_code == 0, again.output
    assert "up to date (schema 3)" in again.output
    assert "_importer" in again.output and "_auditor" in again.output and "_retention" in again.output
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT version FROM county").fetchone() == (county.SCHEMA_VERSION,)


def test_two_stations_imported_twice_give_every_entry_once_and_verify(
    tmp_path: Path, office: Home, url: str
) -> None:
    north, east = _enrolled(tmp_path, office, "north-gate"), _enrolled(tmp_path, office, "east-gate")
    _append(north, "north-gate", 6)
    _append(east, "east-gate", 4)
    _export(north, tmp_path / "n.bundle")
    _export(east, tmp_path / "e.bundle")
    first = run_cli(office, "bundle", "import", str(tmp_path / "n.bundle"), str(tmp_path / "e.bundle"))
    assert first.exit_code == 0, first.output
    assert "imported 6 new entries of north-gate" in first.output
    second = run_cli(office, "bundle", "import", str(tmp_path / "n.bundle"), str(tmp_path / "e.bundle"))
    assert second.exit_code == 0 and second.output.count("already imported") == 2, second.output
    assert _pg_rows(url) == sorted(_rows(north) + _rows(east))
    assert not office.log_db.exists()  # the county keeps nothing in log.db
    verified = run_cli(office, "log", "verify")
    assert verified.exit_code == 0, verified.output
    assert "north-gate: OK — 6 entries, 1 seal, sealed up to entry 6." in verified.output
    assert "east-gate: OK — 4 entries" in verified.output
    listed = run_cli(office, "log", "list", "--json", "--limit", "100")
    assert listed.exit_code == 0, listed.output
    assert sorted((e["station_id"], e["seq"]) for e in map(json.loads, listed.output.splitlines())) == sorted(
        (s, q) for s, q, _ in _rows(north) + _rows(east)
    )


def test_named_columns_come_from_the_body_not_the_file(office: Home, url: str, tmp_path: Path) -> None:
    _imported(tmp_path, office, 3)
    with psycopg.connect(url) as conn:
        body, verdict, seq = conn.execute("SELECT body, verdict, seq FROM entries WHERE seq = 2").fetchone()  # type: ignore[misc]
        assert json.loads(body)[8] == verdict and seq == 2
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE entries SET verdict = 'deny' WHERE seq = 2")
        conn.rollback()
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("DELETE FROM entries")


def test_a_body_changed_by_a_superuser_is_tampered_naming_the_entry(
    office: Home, url: str, tmp_path: Path
) -> None:
    _imported(tmp_path, office, 5)
    with psycopg.connect(url) as conn:  # a superuser switches the triggers off and edits a body
        conn.execute("SET session_replication_role = replica")
        conn.execute("UPDATE entries SET body = replace(body, '\"allow\"', '\"deny\"') WHERE seq = 3")
    result = run_cli(office, "log", "verify")
    assert result.exit_code == 1, result.output
    assert "north-gate: TAMPERED — first bad entry 3: entry 3 was altered" in result.output


def test_a_named_column_changed_by_a_superuser_is_tampered(office: Home, url: str, tmp_path: Path) -> None:
    _imported(tmp_path, office, 4)
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("UPDATE entries SET reason = 'fever' WHERE seq = 2")
    result = county.verify(url)
    assert not result.ok
    assert (result.stations[0].first_bad_seq, result.stations[0].problem) == (2, "entry 2 was altered")


def test_deleted_entries_and_seals_are_caught(office: Home, url: str, tmp_path: Path) -> None:
    _imported(tmp_path, office, 5)
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("DELETE FROM entries WHERE seq = 5")  # the tail after the last seal is cut
    report = county.verify(url).stations[0]
    assert (report.first_bad_seq, report.problem) == (5, "entries 5 to 5 were removed after a seal")
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("DELETE FROM entries WHERE seq = 2")
    report = county.verify(url).stations[0]
    assert (report.first_bad_seq, report.problem) == (2, "entry 2 is missing")


def test_a_fork_is_refused_whole_and_recorded_as_an_alert(tmp_path: Path, office: Home, url: str) -> None:
    north = _enrolled(tmp_path, office, "north-gate")
    _append(north, "north-gate", 3)
    _export(north, tmp_path / "a.bundle")
    assert run_cli(office, "bundle", "import", str(tmp_path / "a.bundle")).exit_code == 0
    # The same station's history rewritten: a new log with the same key, 4 other entries.
    north.log_db.unlink()
    (north.root / "bundle-state.json").unlink()
    _append(north, "north-gate", 4)
    _export(north, tmp_path / "fork.bundle")
    before = _pg_rows(url)
    result = run_cli(office, "bundle", "import", str(tmp_path / "fork.bundle"))
    assert result.exit_code == 2
    assert "entry 3 differs from the one already imported" in result.output
    assert "recorded as an alert" in result.output
    assert _pg_rows(url) == before
    shown = run_cli(office, "county", "alerts")
    assert "north-gate  fork  fork.bundle" in shown.output, shown.output


def test_bundles_arriving_before_their_predecessor_wait(tmp_path: Path, office: Home, url: str) -> None:
    north = _enrolled(tmp_path, office, "north-gate")
    _append(north, "north-gate", 3)
    _export(north, tmp_path / "1.bundle")
    _append(north, "north-gate", 2)
    _export(north, tmp_path / "2.bundle")
    held = run_cli(office, "bundle", "import", str(tmp_path / "2.bundle"))
    assert held.exit_code == 0 and "held" in held.output, held.output
    assert _pg_rows(url) == []
    done = run_cli(office, "bundle", "import", str(tmp_path / "1.bundle"))
    assert done.exit_code == 0, done.output
    assert _pg_rows(url) == _rows(north)
    assert not list((office.root / "bundles" / "pending").glob("*.bundle"))


def test_roles_importer_inserts_auditor_reads_retention_only_purges(
    tmp_path: Path, office: Home, url: str
) -> None:
    north = _enrolled(tmp_path, office, "north-gate")
    _append(north, "north-gate", 3, days_ago=40)
    _export(north, tmp_path / "n.bundle")
    assert run_cli(office, "bundle", "import", "--no-purge", str(tmp_path / "n.bundle")).exit_code == 0
    with psycopg.connect(url, autocommit=True) as conn:
        prefix = county.role_prefix(conn)

        def as_role(role: str, statement: str) -> None:
            with conn.transaction():
                conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(f"{prefix}_{role}")))
                conn.execute(statement)

        as_role("auditor", "SELECT count(*) FROM entries")
        as_role("importer", "SELECT count(*) FROM entries")
        for role, statement in (
            (
                "auditor",
                "INSERT INTO alerts (at, station_id, kind, bundle, detail) VALUES (1, 'x', 'y', 'z', 'w')",
            ),
            ("importer", "UPDATE entries SET personal = NULL"),
            ("importer", "DELETE FROM seals"),
            ("importer", "SELECT purge_personal(0)"),
            ("retention", "UPDATE entries SET personal = NULL"),
            ("retention", "SELECT count(*) FROM entries"),
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                as_role(role, statement)
        # The retention role purges, but only what is older than the retention period.
        with pytest.raises(psycopg.errors.RaiseException, match="younger than 28 days"):
            as_role("retention", f"SELECT purge_personal({(utcnow().timestamp() - 86400) * 1e6:.0f})")
        as_role("retention", f"SELECT purge_personal({(utcnow().timestamp() - 30 * 86400) * 1e6:.0f})")
        purged = conn.execute("SELECT count(*) FROM entries WHERE personal IS NULL").fetchone()
        assert purged == (3,)
    assert county.verify(url).ok  # purging keeps the commitments: the chain still verifies
    refused = run_cli(office, "log", "purge", "--older-than", "3", "--yes")
    assert refused.exit_code == 2 and "retention period" in refused.output


def test_rollup_totals_equal_totals_from_the_entries(tmp_path: Path, office: Home, url: str) -> None:
    north = _enrolled(tmp_path, office, "north-gate")

    async def log() -> None:
        store = await LogStore.open(north.log_db, "north-gate")
        async with store:
            now = utcnow()
            for i in range(12):
                await store.append(draft("in" if i % 3 else "out"), now=now - timedelta(hours=30 - i))
            denied = await store.append(draft(reason=Reason.EXPIRED), now=now - timedelta(hours=2))
            await store.append(
                replace(
                    draft(reason=Reason.OVERRIDE, override_by="赵六", override_reason="救护"),
                    refers_to=denied.id,
                ),
                now=now - timedelta(hours=1),
            )
            await store.append(draft(reason=Reason.NO_PASS, category=None, pass_id=None), now=now)

    asyncio.run(log())
    _export(north, tmp_path / "n.bundle")
    assert run_cli(office, "bundle", "import", str(tmp_path / "n.bundle")).exit_code == 0
    with psycopg.connect(url) as conn:
        rollup = conn.execute(
            "SELECT station_id, day, category, verdict, direction, reason, entries FROM rollup WHERE entries > 0 "
            "ORDER BY 1, 2, 3, 4, 5, 6"
        ).fetchall()
        raw = conn.execute(
            "SELECT station_id, (to_timestamp(ts / 1e6) AT TIME ZONE 'Asia/Shanghai')::date, "
            "coalesce(category, ''), verdict, direction, reason, count(*) FROM entries "
            "WHERE id NOT IN (SELECT refers_to FROM entries WHERE refers_to IS NOT NULL) "
            "GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6"
        ).fetchall()
    assert rollup == raw
    assert sum(r[-1] for r in rollup) == 14  # 15 entries, the overridden denial counted once, by its override
    assert not any(r[5] == "expired" for r in rollup)


def test_a_bad_database_setting_is_one_sentence(tmp_path: Path) -> None:
    home = Home(tmp_path / "h").ensure()
    home.config.write_text('[log]\ndatabase = "mysql://x/y"\n', encoding="utf-8")
    result = run_cli(home, "log", "verify")
    assert result.exit_code == 2
    assert "Bad setting log.database = 'mysql://x/y'" in result.output
    assert "must be empty (log.db in the data home) or a PostgreSQL URL" in result.output


def test_a_body_that_is_not_json_any_more_is_tampered_not_an_error(
    office: Home, url: str, tmp_path: Path
) -> None:
    _imported(tmp_path, office, 3)
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("UPDATE entries SET body = 'not json' WHERE seq = 2")
    report = county.verify(url).stations[0]
    assert (report.first_bad_seq, report.problem) == (2, "entry 2 was altered")


def test_bench_county_runs_at_a_tiny_size(pg_server: str) -> None:
    from click.testing import CliRunner

    from checkpoint.cli import cli

    result = CliRunner().invoke(
        cli,
        ["bench", "county", "--url", pg_server, "--stations", "2", "--entries", "300", "--bundle", "100",
         "--queries", "10", "--json"],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.splitlines()[-1])
    assert figures["entries"] == 600 and figures["verify_ok"] and figures["report_totals_equal"]
    assert figures["busy_errors"] == [] and figures["busy_results_differ"] == 0
    assert figures["county_import_per_s"] > 0 and figures["sqlite_import_per_s"] > 0


def test_an_importer_login_imports_and_an_auditor_login_verifies(tmp_path: Path, url: str) -> None:
    from urllib.parse import urlsplit, urlunsplit

    with psycopg.connect(url, autocommit=True) as conn:
        prefix = county.role_prefix(conn)
        for who, role in (("imp", "importer"), ("aud", "auditor")):
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'pw' IN ROLE {}").format(
                    sql.Identifier(f"{prefix}_{who}"), sql.Identifier(f"{prefix}_{role}")
                )
            )

    def home(who: str) -> Home:
        parts = urlsplit(url)
        login = urlunsplit(parts._replace(netloc=f"{prefix}_{who}:pw@{parts.hostname}:{parts.port}"))
        found = Home(tmp_path / who).ensure()
        found.config.write_text(f'[log]\ndatabase = "{login}"\n', encoding="utf-8")
        return found

    try:
        north = _station(tmp_path, "north-gate")
        _append(north, "north-gate", 3)
        _export(north, tmp_path / "n.bundle")
        enrol(north, home("imp"))  # the importer's login enrols, as a township office does
        imported = run_cli(home("imp"), "bundle", "import", str(tmp_path / "n.bundle"))
        assert imported.exit_code == 0 and "imported 3 new entries" in imported.output, imported.output
        assert run_cli(home("aud"), "log", "verify").exit_code == 0
        refused = run_cli(home("aud"), "bundle", "import", str(tmp_path / "n.bundle"))
        assert refused.exit_code == 2 and "refused this" in refused.output, refused.output
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            for who in ("imp", "aud"):
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(f"{prefix}_{who}")))


def test_a_bundle_under_another_key_is_refused_and_recorded(tmp_path: Path, office: Home, url: str) -> None:
    north = _imported(tmp_path, office, 2)
    impostor = _station(tmp_path / "other", "north-gate")  # the same id, its own new key
    _append(impostor, "north-gate", 3)
    _export(impostor, tmp_path / "impostor.bundle")
    before = _pg_rows(url)
    result = run_cli(office, "bundle", "import", str(tmp_path / "impostor.bundle"))
    assert result.exit_code == 2 and "is enrolled here with key" in result.output, result.output
    assert _pg_rows(url) == before == _rows(north)
    assert "north-gate  key  impostor.bundle" in run_cli(office, "county", "alerts").output


def test_an_empty_county_verifies_with_nothing_to_report(url: str) -> None:
    with psycopg.connect(url) as conn:  # a station known (enrolled) but nothing imported yet
        conn.execute("INSERT INTO stations VALUES ('quiet-gate', %s, '', 0)", (b"\x00" * 32,))
    result = county.verify(url)
    assert result.ok and result.stations == []


def test_no_server_and_no_store_are_one_sentence_each(tmp_path: Path, pg_server: str) -> None:
    import socket

    from tests.pg import fresh_database

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    home = Home(tmp_path / "h").ensure()
    home.config.write_text(
        f'[log]\ndatabase = "postgresql://nobody@127.0.0.1:{port}/county"\n', encoding="utf-8"
    )
    down = run_cli(home, "log", "verify")
    assert down.exit_code == 2 and down.output.startswith(
        "checkpoint: Cannot reach the county database county"
    )
    assert "Traceback" not in down.output and len(down.output.strip().splitlines()) == 1
    with fresh_database(pg_server) as empty:
        home.config.write_text(f'[log]\ndatabase = "{empty}"\n', encoding="utf-8")
        missing = run_cli(home, "log", "list")
        assert missing.exit_code == 2, missing.output
        assert "has no county store yet; run 'checkpoint county init' first" in missing.output
