"""``python -m simulators.servicenow --port 8090 --username … --password …``."""

from __future__ import annotations

import argparse

from ..core import cli
from . import ServiceNowSimulator
from .seed import DEFAULT_PASSWORD, DEFAULT_USERNAME


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulators.servicenow",
        description="Local ServiceNow Table API simulator (dev/test tool).",
    )
    cli.server_options(parser, default_port=8090)
    parser.add_argument("--username", default=DEFAULT_USERNAME)
    parser.add_argument("--password", default=DEFAULT_PASSWORD)
    cli.persistence_options(
        parser,
        state_help="persist tables and accounts to this JSON file",
        site_help="base for links and Location (default: own URL)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    simulator = ServiceNowSimulator(
        username=args.username,
        password=args.password,
        port=args.port,
        state_file=args.state_file,
        host=args.host,
        site_url=args.site_url,
    ).bind()
    cli.serve(simulator, "ServiceNow simulator")


if __name__ == "__main__":
    main()
