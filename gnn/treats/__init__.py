"""treats models."""
