"""The kit's unit suite."""
