"""Peak memory of a process and its children (issue 14: every web and worker process stays
under 150 MB), read from Linux's /proc: VmHWM, the resident set's high-water mark."""

from pathlib import Path


def children(pid: int) -> list[int]:
    """Every descendant of `pid` (gunicorn's workers, Celery's pool processes)."""
    found, queue = [], [pid]
    while queue:
        parent = queue.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            listed = (task / "children").read_text().split() if (task / "children").exists() else []
            found += [int(child) for child in listed]
            queue += [int(child) for child in listed]
    return found


def peak_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def peaks_mb(pid: int) -> list[float]:
    """The peak of `pid` and of each of its descendants, largest first (read before they
    stop: the figures go with the processes)."""
    values = [peak_mb(each) for each in [pid, *children(pid)]]
    return sorted((value for value in values if value is not None), reverse=True)
