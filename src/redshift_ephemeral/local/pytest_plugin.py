"""pytest fixtures for testing code against the local stack."""
