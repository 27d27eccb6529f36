"""The kit's suites, run against a service's own app (``celery_service_kit.testing``)."""
