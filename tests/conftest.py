"""Shared fixtures: stores over SQLite and PostgreSQL, object stores over a folder and S3.

A test that needs a service which is not there fails in CI (``CI=true``) and is skipped with
a loud reason elsewhere, so a laptop without PostgreSQL still runs the rest of the suite.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_URL = os.environ.get("LOOPML_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def require_service(name: str, reason: str) -> None:
    """Fail in CI, skip loudly elsewhere, when a service a test needs is missing."""
    message = f"{name} unavailable: {reason}"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{message} (CI=true: services must be up; see .ci/run)")
    pytest.skip(f"!!! {message} -- start it to run these tests (see .ci/run)")


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in its own folder with no LOOPML_* settings leaking in."""
    for var in list(os.environ):
        if var.startswith("LOOPML_") and var != "LOOPML_TEST_PG_URL":
            monkeypatch.delenv(var)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)


@pytest.fixture(autouse=True)
def _fresh_tracking_context() -> Iterator[None]:
    """Each test gets its own tracking context (settings re-read, writer flushed after)."""
    from loopml.tracking.context import reset_context

    reset_context()
    yield
    from loopml.tracking import fluent

    fluent._end_all(fluent.RunStatus.FINISHED, None)
    reset_context()


# -- PostgreSQL -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """The PostgreSQL test database URL, after checking the server answers."""
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - dev extra installs it
        require_service("PostgreSQL", f"psycopg not installed ({exc})")
    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        require_service("PostgreSQL", f"cannot connect to {dsn}: {exc}")
    return PG_URL


@pytest.fixture
def pg_uri(pg_admin_url: str) -> Iterator[str]:
    """A tracking URI on PostgreSQL whose tables live in a fresh schema, dropped afterwards."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    dsn = pg_admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in pg_admin_url else "?"
    yield f"{pg_admin_url}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_uri(tmp_path: Path) -> str:
    """A tracking URI on a fresh SQLite file."""
    return f"sqlite:///{tmp_path / 'loopml.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def store_uri(request: pytest.FixtureRequest) -> str:
    """The same test over SQLite and PostgreSQL."""
    name = "sqlite_uri" if request.param == "sqlite" else "pg_uri"
    return str(request.getfixturevalue(name))


# -- S3 (moto server) -------------------------------------------------------------------------
# One moto server per test session (per xdist worker), on a free port of 127.0.0.1; each test
# gets a fresh bucket, and moto's state is reset after it. The fake credentials live in the
# environment only while the server fixture is active and are restored afterwards.
_S3_FAKE_ENV: dict[str, str | None] = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_PROFILE": None,
    "AWS_ENDPOINT_URL": None,
    "AWS_ENDPOINT_URL_S3": None,
}


def _set_environ(values: dict[str, str | None]) -> dict[str, str | None]:
    """Set (or, for None, unset) environment variables; return the previous values."""
    previous = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    return previous


def _moto_call(url: str, *, method: str = "GET") -> None:
    import urllib.request

    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=30) as reply:
        reply.read()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server on 127.0.0.1, with fake AWS credentials in the env."""
    import threading

    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # pragma: no cover - dev extra installs it
        require_service("S3 (moto server)", f"moto[server] not installed ({exc})")
    previous = _set_environ(_S3_FAKE_ENV)
    try:
        # port=0: the OS picks a free port at bind time, so parallel workers never collide.
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        starter = threading.Thread(target=server.start, name="moto-start", daemon=True)
        starter.start()
        starter.join(timeout=30)
        if starter.is_alive():  # start() waits forever if the server thread died
            require_service("S3 (moto server)", "ThreadedMotoServer did not start within 30 s")
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        try:
            try:
                _moto_call(f"{endpoint}/moto-api/")
            except OSError as exc:
                require_service("S3 (moto server)", f"no answer from {endpoint}: {exc}")
            yield endpoint
        finally:
            server.stop()
    finally:
        _set_environ(previous)


@pytest.fixture
def s3_url(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``s3://<fresh bucket>/objects`` on the moto server; LOOPML_S3_ENDPOINT_URL points at it.

    Requested after the autouse ``_isolated_cwd`` (which clears LOOPML_*), so the endpoint
    set here is the one the test sees.
    """
    import boto3

    monkeypatch.setenv("LOOPML_S3_ENDPOINT_URL", s3_endpoint)
    bucket = f"loopml-test-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    try:
        client.create_bucket(Bucket=bucket)
    finally:
        client.close()
    yield f"s3://{bucket}/objects"
    _moto_call(f"{s3_endpoint}/moto-api/reset", method="POST")


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def artifact_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test over a local object store folder and S3 (moto)."""
    if request.param == "local":
        return (tmp_path / "objects").as_uri()
    return str(request.getfixturevalue("s3_url"))
