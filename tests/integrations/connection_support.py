"""What the connection tests share: the raw credentials column, and a port nobody listens on."""

import socket
import time

from django.db import connection

from integrations.models import TicketingIntegration


def _credentials_column() -> tuple[str, str]:
    quote = connection.ops.quote_name
    column = TicketingIntegration._meta.get_field("credentials").column
    return quote(TicketingIntegration._meta.db_table), quote(column)


def read_raw_credentials(integration_pk: int) -> bytes:
    """The stored bytes, as the database holds them (no decryption on the way)."""
    table, column = _credentials_column()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [integration_pk])
        (value,) = cursor.fetchone()
    return bytes(value)


def write_raw_credentials(integration_pk: int, value: bytes) -> None:
    """Store bytes as they are, e.g. a ciphertext made with other keys, or garbage."""
    table, column = _credentials_column()
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, integration_pk])


def closed_port_url() -> str:
    """An http URL on loopback where the connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


CLIENT_WAITS = 0.3  # settings.JIRA_READ_TIMEOUT while Jira is made to time out
JIRA_HOLDS = 0.5  # how long the simulator holds such a request before dropping it


def make_jira_time_out(request, path_regex: str, count: int = 1) -> None:
    """Jira holds matching requests longer than the client waits for an answer."""
    request.getfixturevalue("settings").JIRA_READ_TIMEOUT = CLIENT_WAITS
    jira_sim = request.getfixturevalue("jira_sim")
    jira_sim.control.add_fault("timeout", path_regex=path_regex, seconds=JIRA_HOLDS, count=count)
    # The simulator logs a held request when it lets go of it: wait for that to happen in
    # this test, not in the next one (whose log must show only its own requests).
    request.addfinalizer(lambda: time.sleep(JIRA_HOLDS))
