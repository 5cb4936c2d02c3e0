"""Simulator data behind one lock, optionally persisted atomically to a JSON file."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any


class PersistedState:
    """All mutable simulator data. Callers hold ``lock`` around multi-step reads.

    Subclasses provide ``seed_data`` (a fresh data set) and ``apply_configured_credentials``
    (the configured pair always logs in as the product's account, even over a state file).
    """

    def __init__(
        self, state_file: str | os.PathLike[str] | None, credentials: tuple[str, str]
    ) -> None:
        self.lock = threading.RLock()
        self.state_file = Path(state_file) if state_file else None
        self.configured_credentials = credentials
        self.data: dict[str, Any] = {}
        if self.state_file and self.state_file.exists():
            self.data = json.loads(self.state_file.read_text(encoding="utf-8"))
            self.apply_configured_credentials()
        else:
            self.reset()

    def seed_data(self) -> dict[str, Any]:
        raise NotImplementedError

    def apply_configured_credentials(self) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        with self.lock:
            self.data = self.seed_data()
            self.apply_configured_credentials()
            self.save()

    def save(self) -> None:
        """Write-then-rename, so a crash never leaves a half-written file."""
        if not self.state_file:
            return
        with self.lock:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(
                dir=self.state_file.parent, prefix=self.state_file.name, suffix=".tmp"
            )
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self.data, handle)
            os.replace(tmp_name, self.state_file)
