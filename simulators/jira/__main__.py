"""``python -m simulators.jira --port 8089 --email bot@example.com --token sim-token``."""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from . import JiraSimulator
from .seed import DEFAULT_EMAIL, DEFAULT_TOKEN


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulators.jira", description="Local Jira Cloud REST v3 simulator."
    )
    parser.add_argument("--port", type=int, default=8089, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default loopback)")
    parser.add_argument("--email", default=DEFAULT_EMAIL)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--state-file", help="persist issues and comments to this JSON file")
    parser.add_argument("--site-url", help="base for self/browse links (default: own URL)")
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

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    # The first line is machine-readable: tests started on --port 0 read the URL from it.
    print(f"Jira simulator listening on {simulator.url} (site {simulator.site_url})", flush=True)
    try:
        simulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
        print("Jira simulator stopped", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
