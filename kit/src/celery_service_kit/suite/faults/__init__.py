"""The kit's faults suite."""
