"""Start and stop a simulator in-process: on a background thread (tests) or in the foreground
(the command line)."""

from __future__ import annotations

import threading
from typing import Any, Self

from .app import SimulatorApp
from .server import SimulatorHTTPServer, SimulatorRequestHandler


class Simulator:
    """Subclasses build their app and name their handler, thread and control client."""

    handler: type[SimulatorRequestHandler]
    thread_name = "simulator"

    def __init__(
        self, app: SimulatorApp, port: int, host: str, site_url: str | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.requested_site_url = site_url
        self.app = app
        self._server: SimulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not started")
        host, port = self._server.server_address[:2]
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"http://{shown}:{port}"

    @property
    def site_url(self) -> str:
        """Base of the links the simulator answers (``--site-url``; default: its own URL)."""
        return self.app.site

    @property
    def control(self) -> Any:
        raise NotImplementedError

    def bind(self) -> Self:
        """Open the listening socket without serving yet (the CLI serves in the foreground)."""
        self._server = SimulatorHTTPServer((self.host, self.port), self.app, self.handler)
        self.app.site = (self.requested_site_url or self.url).rstrip("/")
        self.app.stopping.clear()
        return self

    def start(self) -> Self:
        """Serve on a background thread; returns ``self``."""
        self.bind()
        self._thread = threading.Thread(
            target=self._server.serve_forever,  # type: ignore[union-attr]
            kwargs={"poll_interval": 0.05},  # stop() returns quickly
            name=f"{self.thread_name}-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()  # type: ignore[union-attr]

    def stop(self) -> None:
        self.app.stopping.set()  # releases requests held by delay/timeout faults
        self.app.close()
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()
                self._thread.join(timeout=5)
            self._server.server_close()
        self._server, self._thread = None, None

    def reset(self) -> None:
        self.app.reset()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
