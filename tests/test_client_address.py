"""The address the per-address limits count, through `rekam serve` as operators run it:
X-Forwarded-For is believed only from the proxies REKAM_TRUSTED_PROXIES names."""

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ADMIN, RekamServe, drop_database, new_database
from tests.helpers import bearer

GUESS = bearer("rekam_a-token-that-does-not-exist")
# Three failed authentications a minute per address, so the tests stay short.
FEW_FAILURES = {"REKAM_AUTH_FAILURES_PER_MINUTE": "3"}


def status_from(server: RekamServe, source: str, headers: dict[str, str]) -> int:
    """The status of one read sent from the loopback address `source`."""
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, base_url=server.base_url, timeout=10) as http:
        return http.get("/api/v1/regions/ID", headers=headers).status_code


def forwarded(address: str) -> dict[str, str]:
    return {**GUESS, "X-Forwarded-For": address}


@pytest.fixture
def empty_database(server_url: str) -> Iterator[str]:
    url = new_database(server_url, "address")
    yield url
    drop_database(server_url, url)


def test_forwarded_for_is_not_believed_without_trusted_proxies(empty_database):
    server = RekamServe(empty_database, **FEW_FAILURES)
    try:
        rotating = [status_from(server, "127.0.0.1", forwarded(f"10.0.0.{n}")) for n in range(5)]
        # Someone on 127.0.0.1 names a victim on 127.0.0.2 as the one failing.
        spoofing = [status_from(server, "127.0.0.1", forwarded("127.0.0.2")) for _ in range(3)]
        victim = status_from(server, "127.0.0.2", GUESS)
        valid = status_from(server, "127.0.0.1", ADMIN)
    finally:
        server.stop()

    assert rotating == [401, 401, 401, 429, 429], "a new X-Forwarded-For escaped the limit"
    assert spoofing == [429, 429, 429]
    assert victim == 401, "failures another address claimed were counted against the victim"
    assert valid == 200


def test_forwarded_for_from_a_trusted_proxy_names_the_client(empty_database):
    server = RekamServe(empty_database, REKAM_TRUSTED_PROXIES="127.0.0.1", **FEW_FAILURES)
    try:
        one_client = [status_from(server, "127.0.0.1", forwarded("203.0.113.7")) for _ in range(4)]
        others = [
            status_from(server, "127.0.0.1", forwarded(f"203.0.113.{n}")) for n in range(20, 25)
        ]
        # 127.0.0.2 is no trusted proxy: the header it sends is ignored, its own address counts.
        untrusted = status_from(server, "127.0.0.2", forwarded("203.0.113.7"))
    finally:
        server.stop()

    assert one_client == [401, 401, 401, 429]
    assert others == [401] * 5
    assert untrusted == 401
