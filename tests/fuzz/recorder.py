"""Counts what the fuzz suite tried: examples and HTTP requests per endpoint (printed at the
end of the run, and written to var/fuzz-report.json for the issue's note)."""

from __future__ import annotations

from collections import Counter

EXAMPLES: Counter[str] = Counter()
REQUESTS: Counter[str] = Counter()
