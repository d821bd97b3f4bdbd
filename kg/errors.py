"""The project's own exception types; the API maps them to HTTP codes in one place."""


class MedKGError(Exception):
    """Base class for every error MedKG raises on purpose."""


class ConfigError(MedKGError):
    """A setting, file or tool the command needs is missing or wrong."""


class ServerError(MedKGError):
    """The local Neo4j server could not be fetched, started or stopped."""


class DatabaseUnavailable(MedKGError):
    """Neo4j does not answer (stopped, starting, unreachable)."""


class NotFound(MedKGError):
    """An entity the caller named does not exist; carries suggestions."""

    def __init__(self, message: str, suggestions: list[dict] | None = None) -> None:
        super().__init__(message)
        self.suggestions = suggestions or []


class InvalidInput(MedKGError):
    """Input that names the offending field and value."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ModelUnavailable(MedKGError):
    """A model, encoder or the knowledge it needs is not loaded or not usable; the message says why and how to
    fix it. The API answers 503 with the message (one exception handler in api/app.py)."""


class SourceDataError(MedKGError):
    """A required source file is missing or unreadable before anything is written."""
