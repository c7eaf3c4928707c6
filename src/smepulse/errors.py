"""One exception family. Messages say what went wrong, where (file, row, column) and how to fix it."""


class SmepulseError(Exception):
    """Base of every error smepulse raises on purpose."""


class MethodologyError(SmepulseError):
    """A methodology file is missing, malformed or inconsistent."""


class InputError(SmepulseError):
    """A user's data file is malformed: names the file, row and column."""

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None,
                 column: str | None = None):
        where = ", ".join(p for p in (
            f"file {file}" if file else "",
            f"row {row}" if row is not None else "",
            f"column '{column}'" if column else "",
        ) if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.file, self.row, self.column = file, row, column


class StoreError(SmepulseError):
    """The store could not be read or written; nothing was half-written."""


class SeasonalError(SmepulseError):
    """Seasonal adjustment failed or was refused (shows X-13's own message when it ran)."""


class CreditError(SmepulseError):
    """Credit data, model or scoring problem."""
