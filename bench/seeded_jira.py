"""The Jira simulator with N extra DQ issues, served in the foreground (for bench/refresh.py).

python bench/seeded_jira.py --port 8089 --issues 10000
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulators.jira import JiraSimulator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--issues", type=int, default=10_000)
    args = parser.parse_args()
    sim = JiraSimulator(port=args.port)
    state = sim.app.state
    state.save = lambda: None  # in memory only: no file to rewrite per issue
    for number in range(args.issues):
        values = {"project": "DQ", "issuetype": "10001", "summary": f"Bench issue {number}"}
        state.create_issue(values, reporter="bench")
    sim.bind()
    print("ready", flush=True)
    sim._server.serve_forever()


if __name__ == "__main__":
    main()
