"""Scenarios 1-3 of issue 23 (kill -9 of the worker during provisioning, kill -9 of one of two APIs under load, a
tenant PostgreSQL server restarted under load); docs/reliability.md."""
