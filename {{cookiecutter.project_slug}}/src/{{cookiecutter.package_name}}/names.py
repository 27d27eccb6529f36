"""The package's name: task names, routes and Redis keys start with it.

A leaf module (it imports nothing of the service), so that any module can name
the package without importing the package's face and the application behind it.
"""

#: The package name, as ``celery -A <package>`` imports it.
PACKAGE = __name__.rpartition(".")[0]
