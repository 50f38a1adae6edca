"""A fresh PostgreSQL database per test module, on the server `scripts/postgres.sh` starts for `make test`.

Tests that need the server FAIL when it is absent under CI (CI=true) and skip, saying why, elsewhere.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import pytest

# Read once, at import: the suite's autouse fixture removes every CHECKPOINT_… variable from each test.
SERVER_URL = os.environ.get("CHECKPOINT_TEST_PG_URL", "")


def server_url() -> str:
    if SERVER_URL:
        return SERVER_URL
    reason = (
        "no PostgreSQL server: CHECKPOINT_TEST_PG_URL is not set (make test starts one: scripts/postgres.sh)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def database_url(server: str, name: str) -> str:
    parts = urlsplit(server)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def pg_server() -> str:
    return server_url()


@contextmanager
def fresh_database(server: str) -> Iterator[str]:
    """A new, empty database on `server` (dropped, with the roles named after it, at the end)."""
    import psycopg
    from psycopg import sql

    name = f"county_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield database_url(server, name)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            for role in ("importer", "auditor", "retention"):
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(f"{name}_{role}")))


@pytest.fixture
def county_url(pg_server: str) -> Iterator[str]:
    """A fresh county database for each test (CREATE DATABASE is cheap), set up by `county_init`."""
    from checkpoint.county import county_init

    with fresh_database(pg_server) as url:
        county_init(url, timezone="Asia/Shanghai", retention_days=28)
        yield url
