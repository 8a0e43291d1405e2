"""Errors a user can cause and fix: each carries one line that names the file, line or option."""


class TextlstmError(Exception):
    """A user-facing error. ``str(error)`` is one line, printed without a traceback by the CLI."""


class ConfigError(TextlstmError, ValueError):
    """A configuration value is invalid.

    Args:
        field: the configuration field (``units``), shown by the CLI as its option (``--units``).
        message: what was expected and what was received.
    """

    def __init__(self, field, message):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class DataError(TextlstmError, ValueError):
    """Input data is missing, unreadable or inconsistent; the message names the file and line."""


class ExportError(TextlstmError):
    """A path is not a usable textlstm export, or an export cannot be written there."""


class NotFittedError(TextlstmError, ValueError, AttributeError):
    """A classifier was used before ``fit``; scikit-learn's convention (ValueError, AttributeError)."""
