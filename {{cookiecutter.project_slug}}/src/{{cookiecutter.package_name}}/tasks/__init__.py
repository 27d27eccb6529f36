"""Task modules, one per queue.

Every task defined in ``tasks/<queue>.py`` is routed to ``<queue>`` (see
``routing.py``); the worker imports each module listed there.
"""
