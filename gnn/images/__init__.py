"""images models."""
