"""Local simulators of the remote ticketing systems the product talks to.

Development and test tools only, never deployed: each one is a small standard-library HTTP
server that answers like the vendor's REST API (as written down in ``docs/``), keeps its data in
memory or in a JSON state file, and lets tests inject faults through a loopback-only control
API. ``simulators.jira`` imitates Jira Cloud REST v3, ``simulators.servicenow`` the ServiceNow
Table API; ``simulators.core`` holds what they share.
"""
