"""The kit's integration suite."""
