"""What both simulators share: the threaded HTTP front with fault injection, the request and
response values with routing, the loopback-only control API core and its Python client, the
start/stop harness, the command line and atomic JSON state files.

Each simulator package composes or subclasses these pieces and keeps only what is specific to
its vendor (``simulators.jira``: REST v3; ``simulators.servicenow``: the Table API).
"""
