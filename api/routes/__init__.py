"""HTTP routes: thin, the logic lives in services."""
