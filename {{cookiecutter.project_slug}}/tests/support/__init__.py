"""Helpers the test directories share (on ``sys.path`` through pytest's ``pythonpath``)."""
