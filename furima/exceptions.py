"""Exceptions raised by furima.

Every error furima raises on purpose derives from :class:`FurimaError`, so callers can catch
one type. Messages name the thing that was wrong, what was expected, what came, and how to fix
it.

    FurimaError
    ├── DataError              bad input data (carries file, row and column where known)
    │   ├── SchemaError        missing / unknown / mistyped columns, bad column mappings
    │   ├── EmptyDataError     a file or table with no rows
    │   └── ValidationError    one or more rows break the listing schema
    ├── NotFittedError         a model used before ``fit``
    ├── ModelFormatError       a saved model that this furima cannot load
    ├── ListingNotFoundError   unknown listing ids
    └── StoreError             the catalog store cannot be opened or written
"""

from __future__ import annotations

__all__ = [
    "DataError",
    "EmptyDataError",
    "FurimaError",
    "ListingNotFoundError",
    "ModelFormatError",
    "NotFittedError",
    "SchemaError",
    "StoreError",
    "ValidationError",
]


class FurimaError(Exception):
    """Base class of every error furima raises on purpose."""


class DataError(FurimaError, ValueError):
    """Input data that furima cannot use.

    Args:
        message: What was wrong and how to fix it.
        file: The file the data came from, if any.
        row: 1-based data row number (header excluded), if the problem is in one row.
        column: The column name, if the problem is in one column.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        where = ", ".join(
            part
            for part in (
                f"file {file!r}" if file else "",
                f"row {row}" if row is not None else "",
                f"column {column!r}" if column else "",
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)


class SchemaError(DataError):
    """Columns are missing, unknown or of the wrong type."""


class EmptyDataError(DataError):
    """A file or table holds no rows."""


class ValidationError(DataError):
    """Rows break the listing schema; ``problems`` lists each (row, column, reason)."""

    def __init__(
        self,
        message: str,
        *,
        problems: list[tuple[int, str, str]] | None = None,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.problems = problems or []
        super().__init__(message, file=file, row=row, column=column)


class NotFittedError(FurimaError, AttributeError):
    """A model was used before ``fit`` was called."""


class ModelFormatError(FurimaError):
    """A saved model is missing, corrupt, or from an incompatible furima version."""


class ListingNotFoundError(FurimaError, KeyError):
    """One or more listing ids are not in the catalog."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class StoreError(FurimaError):
    """The catalog store cannot be opened, read or written."""


# Vector index errors (furima.index).
#
#   DataError
#   └── VectorError                 vectors that cannot go in an index (NaN, zero, wrong shape)
#       └── DimensionMismatchError  vectors of another dimension than the index holds
#   ListingNotFoundError
#   └── UnknownListingError         ids that are not in a vector index
#   ModelFormatError
#   └── IndexFormatError            a saved index that is corrupt or from a newer furima
#   FilterError                     a search filter on an unknown field or of a bad shape
#   IndexConfigError                an index built with parameters that cannot work

__all__ += [
    "DimensionMismatchError",
    "FilterError",
    "IndexConfigError",
    "IndexFormatError",
    "UnknownListingError",
    "VectorError",
]


class VectorError(DataError):
    """Vectors that cannot be indexed: non-finite values, zero length under cosine, bad shape."""


class DimensionMismatchError(VectorError):
    """Vectors whose dimension differs from the index's; ``expected`` and ``got`` say which."""

    def __init__(self, message: str, *, expected: int, got: int) -> None:
        self.expected = expected
        self.got = got
        super().__init__(message)


class UnknownListingError(ListingNotFoundError):
    """Listing ids that are not in a vector index; ``ids`` holds all of them."""

    def __init__(self, message: str, *, ids: list[int]) -> None:
        self.ids = ids
        super().__init__(message)


class IndexFormatError(ModelFormatError):
    """A saved vector index that is missing, corrupt, or written by a newer furima."""


class FilterError(FurimaError, ValueError):
    """A search filter that names an unknown field or has a value of the wrong shape."""


class IndexConfigError(FurimaError, ValueError):
    """Index parameters that cannot work (unknown backend or metric, out-of-range values)."""


# Encoder errors (furima.features).
#
#   DataError
#   └── ImageError    a photo that is empty, not an image, corrupt, or too large

__all__ += ["ImageError"]


class ImageError(DataError):
    """A photo that cannot be decoded: empty, not an image, truncated, or too large."""


# Model registry errors (furima.registry).
#
#   RegistryError               the registry cannot be reached, or refuses a change
#   └── UnknownModelError       a task, version or alias that is not registered

__all__ += ["RegistryError", "UnknownModelError"]


class RegistryError(FurimaError):
    """The model registry cannot be reached or opened, or a change to it is not possible."""


class UnknownModelError(RegistryError, KeyError):
    """A registered model, version or alias that does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


# Safety errors (furima.safety).
#
#   DataError
#   └── PolicyError            a policy file that cannot be used (carries file and line)
#   ReviewError                the review queue refuses a decision
#   └── ReviewConflictError    the listing is decided already, or claimed by another reviewer

__all__ += ["PolicyError", "ReviewConflictError", "ReviewError"]


class PolicyError(DataError):
    """A policy file that cannot be used; ``line`` is the 1-based line of the problem."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        self.line = line
        where = f"line {line}: " if line is not None else ""
        super().__init__(f"{where}{message}", file=file)


class ReviewError(FurimaError, ValueError):
    """The review queue cannot record a decision (bad action, empty reviewer name, ...)."""


class ReviewConflictError(ReviewError):
    """A decision that would clash with another: the listing is decided already, or another
    reviewer holds it."""


# Experiment errors (furima.experiments).
#
#   DataError
#   └── ExperimentDataError    data an analysis cannot support (empty group, zero variance,
#                              units in two groups, zero propensities, mismatched lengths)
#   ExperimentConfigError      an experiment definition that cannot work (clashing name,
#                              shares that do not add up, overlapping layer ranges)

__all__ += ["ExperimentConfigError", "ExperimentDataError"]


class ExperimentDataError(DataError):
    """Experiment data that an analysis cannot support; the message says why and what to do."""


class ExperimentConfigError(FurimaError, ValueError):
    """An experiment definition that cannot work: a clashing name, traffic shares that do
    not add up, a layer whose ranges overlap."""
