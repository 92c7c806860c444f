"""Fixtures for remote signing: the simulator (a real HTTP service on 127.0.0.1, ephemeral
port, one per test session) holding the test PKI's leader key. Imported by the tests that use
it (`from tests.signing.conftest_remote import *`)."""

from __future__ import annotations

import threading

import pytest
from cryptography.hazmat.primitives import serialization

from chinhquyenso.signing.remote import RemoteService
from chinhquyenso.signing.remote_simulator import Simulator, make_simulator_server

REMOTE_USER = "079080001234"  # the holder's id at the provider (a citizen id number)
REMOTE_TOKEN = "token-he-thong-thu-nghiem"

__all__ = [
    "REMOTE_USER",
    "holder_answers",
    "remote_keys_dir",
    "remote_server",
    "remote_service",
    "remote_simulator",
]


@pytest.fixture(scope="session")
def remote_keys_dir(pki, tmp_path_factory):
    """The simulator's key directory: <user>.p12 (PIN = the PKCS#12 password) and <user>.pem."""
    directory = tmp_path_factory.mktemp("remote-keys")
    leader = pki["leader"]
    (directory / f"{REMOTE_USER}.p12").write_bytes(leader.p12_bytes)
    chain = [leader.cert, pki["issuing"].cert, pki["root"].cert]
    (directory / f"{REMOTE_USER}.pem").write_bytes(
        b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain)
    )
    return directory


@pytest.fixture(scope="session")
def remote_server(remote_keys_dir):
    app = Simulator(keys_dir=remote_keys_dir, token=REMOTE_TOKEN, confirm_timeout=30)
    server = make_simulator_server(app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, server
    server.shutdown()
    server.server_close()


@pytest.fixture
def remote_simulator(remote_server):
    """The running simulator, reset to its defaults for each test (auto-confirm off)."""
    app, _server = remote_server
    app.auto_confirm = False
    with app.lock:
        app.requests.clear()
        app.grants.clear()
        app.signed_count = 0
    return app


@pytest.fixture
def remote_service(remote_server, remote_simulator):
    _app, server = remote_server
    host, port = server.server_address[:2]
    return RemoteService(url=f"http://{host}:{port}", token=REMOTE_TOKEN, timeout=5)


def holder_answers(app: Simulator, *, approve: bool, via_page: str | None = None):
    """Play the holder's phone: wait for the next pending request and approve or refuse it,
    through the simulator's confirmation page when `via_page` (its base URL) is given.
    Returns the thread (join it)."""
    import time
    import urllib.parse
    import urllib.request

    def run():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            pending = app.pending()
            if pending:
                request_id = pending[0].id
                if via_page:
                    listing = urllib.request.urlopen(f"{via_page}/confirm", timeout=5).read()  # noqa: S310
                    assert request_id.encode() in listing
                    data = urllib.parse.urlencode(
                        {"action": "approve" if approve else "refuse"}
                    ).encode()
                    urllib.request.urlopen(f"{via_page}/confirm/{request_id}", data, timeout=5)  # noqa: S310
                else:
                    app.decide(request_id, approve=approve)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread
