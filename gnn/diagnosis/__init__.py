"""diagnosis models."""
