"""Operator commands, added to Celery's own CLI (``celery -A <package> <command>``).

They are registered as ``celery.commands`` entry points in ``pyproject.toml``, so
they appear in ``celery --help`` once the service is installed.
"""
