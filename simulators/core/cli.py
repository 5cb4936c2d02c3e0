"""The command line both simulators share: server options and serving in the foreground."""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from .harness import Simulator


def server_options(parser: argparse.ArgumentParser, default_port: int) -> None:
    parser.add_argument("--port", type=int, default=default_port, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default loopback)")


def persistence_options(parser: argparse.ArgumentParser, state_help: str, site_help: str) -> None:
    parser.add_argument("--state-file", help=state_help)
    parser.add_argument("--site-url", help=site_help)


def serve(simulator: Simulator, name: str) -> None:
    """Serve a bound simulator until Ctrl-C or SIGTERM; ``name`` starts each output line."""

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    # The first line is machine-readable: tests started on --port 0 read the URL from it.
    print(f"{name} listening on {simulator.url} (site {simulator.site_url})", flush=True)
    try:
        simulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
        print(f"{name} stopped", file=sys.stderr, flush=True)
