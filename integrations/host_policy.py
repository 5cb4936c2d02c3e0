"""Which addresses a ticketing connector may open connections to, enforced at every connect.

Connector-neutral and free of Django: a ``HostPolicy`` says yes or no to a host name and the
addresses it resolves to; ``PolicedAdapter`` is a ``requests`` adapter whose connections
resolve the name themselves, vet every address it resolves to, and connect to a vetted
address while keeping the name for TLS (SNI, certificate check) and the Host header. Checking
at every TCP connection, not only when a URL is saved, means a DNS answer that changes later
(rebinding) cannot reach inside the network. Nothing is ever sent to a refused address, so a
refusal reads the same whether anything listens there or not. See docs/outbound-host-policy.md.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
AddressInfo = tuple[Any, ...]  # one entry of socket.getaddrinfo

# Special-purpose ranges that Python 3.11's ``is_global`` calls global but that are no public
# unicast destination (IANA special-purpose address registries; docs/outbound-host-policy.md).
NOT_PUBLIC_NETWORKS: tuple[Network, ...] = (
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments (RFC 6890)
    ipaddress.ip_network("192.88.99.0/24"),  # deprecated 6to4 relay anycast (RFC 7526)
    ipaddress.ip_network("64:ff9b:1::/48"),  # local-use NAT64 (RFC 8215)
    ipaddress.ip_network("3fff::/20"),  # documentation (RFC 9637)
    ipaddress.ip_network("fec0::/10"),  # deprecated site-local (RFC 3879)
)
# IPv6 ranges that carry an IPv4 address in their low 32 bits; judged by that IPv4 address.
NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*")


class HostNotAllowed(Exception):
    """The host resolves to an address the policy refuses. Says nothing of ports or replies."""

    def __init__(self, host: str) -> None:
        self.host = host
        super().__init__(
            f"The host {host} is not allowed: it resolves to a private or reserved address."
        )


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64, compatible)."""
    if address.version == 4:
        return None
    if address.ipv4_mapped or address.sixtofour:
        return address.ipv4_mapped or address.sixtofour
    if address in NAT64_WELL_KNOWN or (address in IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(address: Address) -> bool:
    """Global unicast: not loopback, private, link-local, CGNAT, multicast, reserved, …"""
    inner = embedded_ipv4(address)
    if inner is not None:
        return is_public_address(inner)
    if any(address in network for network in NOT_PUBLIC_NETWORKS):
        return False
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
    )


def is_loopback_address(address: Address) -> bool:
    inner = embedded_ipv4(address)
    return (inner or address).is_loopback


def canonical_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def parse_entry(entry: str) -> str | Network:
    """One allow-list entry: a network (an address is a one-address network) or a name."""
    entry = canonical_host(entry)
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        pass
    if not HOST_NAME.fullmatch(entry):
        raise ValueError(f"Not a host name, IP address or CIDR range: {entry!r}")
    return entry


@dataclass(frozen=True)
class HostPolicy:
    """Public addresses only, plus exactly what an operator opened.

    ``allow_loopback`` opens loopback addresses (the local Jira simulator);
    ``allowed_names`` opens those host names whatever they resolve to;
    ``allowed_networks`` opens those addresses or ranges whatever name led to them.
    """

    allow_loopback: bool = False
    allowed_names: frozenset[str] = frozenset()
    allowed_networks: tuple[Network, ...] = ()

    @classmethod
    def from_entries(cls, entries: Iterable[str], *, allow_loopback: bool = False) -> HostPolicy:
        """Host names, IP addresses and CIDR ranges; ``ValueError`` names a malformed one."""
        parsed = [parse_entry(entry) for entry in entries if canonical_host(entry)]
        names = frozenset(entry for entry in parsed if isinstance(entry, str))
        networks = tuple(entry for entry in parsed if not isinstance(entry, str))
        return cls(allow_loopback, names, networks)

    def permits(self, host: str, address: Address) -> bool:
        if canonical_host(host) in self.allowed_names:
            return True
        inner = embedded_ipv4(address)
        for network in self.allowed_networks:
            if address in network or (inner is not None and inner in network):
                return True
        if self.allow_loopback and is_loopback_address(address):
            return True
        return is_public_address(address)

    def resolve(self, host: str, port: int) -> list[AddressInfo]:
        """Every address ``host`` resolves to (all families), once all passed; else
        ``HostNotAllowed``. Resolution failures raise ``socket.gaierror``.
        """
        name = host.strip("[]")
        found = socket.getaddrinfo(name, port, socket.AF_UNSPEC, socket.SOCK_STREAM)
        if not found:
            raise socket.gaierror(socket.EAI_NONAME, "the name resolved to no address")
        for *_, sockaddr in found:
            try:
                address = ipaddress.ip_address(sockaddr[0])
            except ValueError:  # a zone-scoped IPv6 address: link-local by definition
                raise HostNotAllowed(host) from None
            if not self.permits(name, address):
                raise HostNotAllowed(host)
        return found


def connect_to_vetted(addresses: list[AddressInfo], port: int, **options: Any) -> socket.socket:
    """urllib3's ``create_connection`` over the vetted addresses, in the resolver's order.

    Each address is passed as a numeric literal, so nothing is looked up again.
    """
    error: OSError | None = None
    for ip in dict.fromkeys(sockaddr[0] for *_, sockaddr in addresses):
        try:
            return urllib3_connection.create_connection((ip, port), **options)
        except OSError as failure:
            error = failure
    raise error or OSError("the host name resolved to no address")


class _PolicedConnectionMixin:
    """Replaces urllib3's ``_new_conn``: resolve, vet every address, connect to a vetted one.

    ``self.host`` (without the DNS trailing dot) stays the name for SNI, certificate checks
    and the Host header; only the socket goes to the vetted address.
    """

    def __init__(self, *args: Any, host_policy: HostPolicy, **kwargs: Any) -> None:
        self.host_policy = host_policy
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        try:  # every family: an address this machine cannot reach is still judged
            addresses = self.host_policy.resolve(self._dns_host, self.port)
        except socket.gaierror as error:
            raise NameResolutionError(self.host, self, error) from error
        try:
            return connect_to_vetted(
                addresses,
                self.port,
                timeout=self.timeout,
                source_address=self.source_address,
                socket_options=self.socket_options,
            )
        except TimeoutError as error:
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            ) from error
        except OSError as error:
            raise NewConnectionError(
                self, f"Failed to establish a new connection: {error}"
            ) from error


class PolicedHTTPConnection(_PolicedConnectionMixin, HTTPConnection):
    pass


class PolicedHTTPSConnection(_PolicedConnectionMixin, HTTPSConnection):
    pass


class PolicedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = PolicedHTTPConnection


class PolicedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = PolicedHTTPSConnection


class PolicedPoolManager(PoolManager):
    def __init__(self, *args: Any, host_policy: HostPolicy, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.host_policy = host_policy
        self.pool_classes_by_scheme = {
            "http": PolicedHTTPConnectionPool,
            "https": PolicedHTTPSConnectionPool,
        }

    def _new_pool(self, scheme: str, host: str, port: int, request_context: Any = None) -> Any:
        pool = super()._new_pool(scheme, host, port, request_context)
        pool.conn_kw["host_policy"] = self.host_policy
        return pool


class PolicedAdapter(HTTPAdapter):
    """A ``requests`` adapter whose every TCP connection obeys ``host_policy``.

    Proxies from the environment are ignored: a proxy would resolve the name itself, out of
    the policy's reach.
    """

    __attrs__ = [*HTTPAdapter.__attrs__, "host_policy"]

    def __init__(self, host_policy: HostPolicy, **kwargs: Any) -> None:
        self.host_policy = host_policy
        super().__init__(**kwargs)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        self._pool_connections, self._pool_maxsize, self._pool_block = connections, maxsize, block
        self.poolmanager = PolicedPoolManager(
            num_pools=connections,
            maxsize=maxsize,
            block=block,
            host_policy=self.host_policy,
            **pool_kwargs,
        )

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        return super().send(request, **{**kwargs, "proxies": None})
