"""Benchmarks of the service's settings and task pattern: ``make bench``.

Real workers with the service's own settings on the real broker; every figure is a
ratio or a percentile measured side by side in one run (median of several runs),
never an absolute claim. See ``python -m bench --help``.
"""
