"""``python -m simulators.jira --port 8089 --email bot@example.com --token sim-token``."""

from __future__ import annotations

import argparse

from ..core import cli
from . import JiraSimulator
from .seed import DEFAULT_EMAIL, DEFAULT_TOKEN


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulators.jira", description="Local Jira Cloud REST v3 simulator."
    )
    cli.server_options(parser, default_port=8089)
    parser.add_argument("--email", default=DEFAULT_EMAIL)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    cli.persistence_options(
        parser,
        state_help="persist issues and comments to this JSON file",
        site_help="base for self/browse links (default: own URL)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    simulator = JiraSimulator(
        email=args.email,
        api_token=args.token,
        port=args.port,
        state_file=args.state_file,
        host=args.host,
        site_url=args.site_url,
    ).bind()
    cli.serve(simulator, "Jira simulator")


if __name__ == "__main__":
    main()
