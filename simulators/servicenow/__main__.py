"""``python -m simulators.servicenow --port 8090 --username … --password …``."""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from . import ServiceNowSimulator
from .seed import DEFAULT_PASSWORD, DEFAULT_USERNAME


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulators.servicenow",
        description="Local ServiceNow Table API simulator (dev/test tool).",
    )
    parser.add_argument("--port", type=int, default=8090, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default loopback)")
    parser.add_argument("--username", default=DEFAULT_USERNAME)
    parser.add_argument("--password", default=DEFAULT_PASSWORD)
    parser.add_argument("--state-file", help="persist tables and accounts to this JSON file")
    parser.add_argument("--site-url", help="base for links and Location (default: own URL)")
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

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    # The first line is machine-readable: tests started on --port 0 read the URL from it.
    print(
        f"ServiceNow simulator listening on {simulator.url} (site {simulator.site_url})",
        flush=True,
    )
    try:
        simulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
        print("ServiceNow simulator stopped", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
