"""text models."""
