"""Why a file cannot be imported at all, worded for the admin who has to fix it."""


class ImportRefused(Exception):
    """The file cannot be read or imported; `message` says what to fix."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
