"""Column mappings: which column of a source file feeds each canonical listing field.

Presets cover the public marketplace dumps furima knows (:func:`get_mapping`); any other file
is described by a :class:`ColumnMapping`, usually written as JSON::

    {"name": "product_name", "price": "retail_price", "attributes": ["gender"],
     "numeric": ["msrp", "weight_g"], "conditions": {"新品": 1, "目立った傷や汚れなし": 3}}

``attributes`` are kept as text, ``numeric`` as numbers (float64), both under their own names;
``conditions`` is the file's table of condition words (a dict, or a built-in table's name
such as ``"mercari_jp"``; Mercari's English words by default, see :mod:`._conditions`).

A file whose columns already carry the canonical names (``name``, ``price``, ...) needs no
mapping: :meth:`ColumnMapping.identity` maps those columns to themselves, ``listing_id`` to the
id, and ignores every other column (list them under ``attributes`` to keep them), so that
free text or URLs never become store columns by accident.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import pandas as pd

from furima.catalog._conditions import MERCARI_CONDITIONS, ConditionScale, condition_scale
from furima.catalog._mapping_file import MappingFile
from furima.catalog._schema import LISTING_COLUMNS
from furima.exceptions import SchemaError

__all__ = ["MAPPING_PRESETS", "ColumnMapping", "detect_mapping", "get_mapping"]

_FIELDS = ("id", "name", "description", "brand", "category", "condition", "shipping", "price")
_KEYS = (*_FIELDS, "attributes", "numeric", "conditions")


@dataclass(frozen=True)
class ColumnMapping(MappingFile):
    """Source column for each canonical field (``None``: the source has no such column).

    ``id`` feeds ``listing_id``; without it, ids are content hashes. ``attributes`` are extra
    categorical columns kept under their own names; ``numeric`` are extra numeric columns
    (float64), likewise. ``conditions`` reads condition words (``None``: Mercari's table).

    Raises:
        SchemaError: No ``name``, an extra column that clashes with a canonical one, or a
            column declared both numeric and categorical.
    """

    id: str | None = None
    name: str | None = None
    description: str | None = None
    brand: str | None = None
    category: str | None = None
    condition: str | None = None
    shipping: str | None = None
    price: str | None = None
    attributes: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    conditions: ConditionScale | None = None

    def __post_init__(self) -> None:
        if self.name is None:
            raise SchemaError(
                "a column mapping must say which column holds the listing 'name', "
                'e.g. {"name": "product_name"}.'
            )
        clash = sorted((set(self.attributes) | set(self.numeric)) & set(LISTING_COLUMNS))
        if clash:
            raise SchemaError(
                f"attribute columns {clash} clash with canonical listing columns; map them "
                'to the canonical field instead (e.g. {"brand": "brand"}).'
            )
        fed = {getattr(self, key): key for key in _FIELDS if getattr(self, key) is not None}
        twice = sorted(column for column in self.numeric if column in fed)
        if twice:
            raise SchemaError(
                f"numeric columns {twice} already feed {[fed[c] for c in twice]}; a column "
                "feeds one field only (a price kept as a numeric attribute would leak it)."
            )
        both = sorted(set(self.attributes) & set(self.numeric))
        if both:
            raise SchemaError(
                f"columns {both} are declared both numeric ('numeric') and categorical "
                "('attributes'); list each column under one of the two keys only."
            )

    @property
    def condition_scale(self) -> ConditionScale:
        """The condition words this mapping reads: its own table, else Mercari's."""
        return self.conditions or MERCARI_CONDITIONS

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ColumnMapping:
        """Build from ``{"name": "product_name", ..., "attributes": [...]}``.

        Raises:
            SchemaError: Unknown keys, or values that are not column names.
        """
        unknown = sorted(str(key) for key in data if key not in _KEYS)
        if unknown:
            raise SchemaError(f"unknown mapping keys {unknown}; valid keys are {list(_KEYS)}.")
        values = {key: _column_name(key, data[key]) for key in _FIELDS if key in data}
        conditions = data.get("conditions")
        return cls(
            **values,
            attributes=_attribute_names("attributes", data.get("attributes", [])),
            numeric=_attribute_names("numeric", data.get("numeric", [])),
            conditions=None if conditions is None else condition_scale(conditions),
        )

    @classmethod
    def identity(
        cls, columns: Iterable[str], attributes: Iterable[str] = (), numeric: Iterable[str] = ()
    ) -> ColumnMapping:
        """The mapping of a file whose columns carry the canonical names."""
        present = set(columns)
        names = {key: key for key in _FIELDS[1:] if key in present}
        return cls(
            id="listing_id" if "listing_id" in present else None,
            **names,
            attributes=tuple(attributes),
            numeric=tuple(numeric),
            conditions=None,
        )

    def to_dict(self) -> dict[str, object]:
        """The mapped keys only, as :meth:`from_dict` reads them (``numeric`` and
        ``conditions`` only when given, so older mappings read back as they were)."""
        data: dict[str, object] = {
            key: getattr(self, key) for key in _FIELDS if getattr(self, key) is not None
        }
        data["attributes"] = list(self.attributes)
        if self.numeric:
            data["numeric"] = list(self.numeric)
        if self.conditions is not None:
            data["conditions"] = self.conditions.to_dict()
        return data

    def with_numeric(self, columns: Iterable[str]) -> ColumnMapping:
        """This mapping with ``columns`` read as numeric attributes too (taken out of
        ``attributes`` when listed there): how ``--numeric`` amends any mapping."""
        added = [column for column in columns if column not in self.numeric]
        if not added:
            return self
        return replace(
            self,
            attributes=tuple(c for c in self.attributes if c not in added),
            numeric=(*self.numeric, *added),
        )

    def source_columns(self) -> list[str]:
        """Every source column the mapping reads, without repeats."""
        used = [getattr(self, key) for key in _FIELDS if getattr(self, key) is not None]
        return list(dict.fromkeys([*used, *self.attributes, *self.numeric]))

    def source_names(self) -> dict[str, str]:
        """Each mapped canonical column's source column (``listing_id`` for ``id``)."""
        names = {key: getattr(self, key) for key in _FIELDS if getattr(self, key) is not None}
        if "id" in names:
            names["listing_id"] = names.pop("id")
        return names

    def apply(self, raw: pd.DataFrame) -> pd.DataFrame:
        """Rename and select: the source frame as canonical (still untyped) columns."""
        out: dict[str, pd.Series] = {}
        for key in _FIELDS:
            source = getattr(self, key)
            if source is not None:
                out["listing_id" if key == "id" else key] = raw[source]
        for attribute in (*self.attributes, *self.numeric):
            out[attribute] = raw[attribute]
        return pd.DataFrame(out, index=raw.index)


def _column_name(key: str, value: object) -> str | None:
    if value is None or (isinstance(value, str) and value):
        return value
    raise SchemaError(f"mapping key {key!r} must be a column name or null, got {value!r}.")


def _attribute_names(key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, list | tuple) and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    raise SchemaError(f"mapping key {key!r} must be a list of column names, got {value!r}.")


_MERCARI = ColumnMapping(
    id="train_id",
    name="name",
    description="item_description",
    brand="brand_name",
    category="category_name",
    condition="item_condition_id",
    shipping="shipping",
    price="price",
)
# The Kaggle test file: test_id instead of train_id, and no price.
_MERCARI_TEST = replace(_MERCARI, id="test_id", price=None)

_PRESETS: dict[str, ColumnMapping] = {
    "mercari": _MERCARI,
    "myntra": ColumnMapping(
        id="product_id",
        name="name",
        description="description",
        brand="brand",
        price="price",
        attributes=("gender", "primary_color"),
    ),
    # Never discounted_price: it is derived from the price we want to predict.
    "flipkart": ColumnMapping(
        id="uniq_id",
        name="product_name",
        brand="brand",
        price="retail_price",
        attributes=("is_FK_Advantage_product", "product_rating", "overall_rating"),
    ),
}
MAPPING_PRESETS: tuple[str, ...] = tuple(_PRESETS)

# Columns that identify a preset's native files in auto-detection.
_SIGNATURES: dict[str, tuple[frozenset[str], ...]] = {
    "mercari": (
        frozenset({"train_id", "item_condition_id", "category_name", "brand_name"}),
        frozenset({"test_id", "item_condition_id", "category_name", "brand_name"}),
    ),
    "myntra": (frozenset({"product_id", "name", "primary_color", "num_images"}),),
    "flipkart": (frozenset({"uniq_id", "product_name", "retail_price"}),),
}


def get_mapping(name: str, *, columns: Iterable[str] | None = None) -> ColumnMapping:
    """The preset mapping called ``name`` (one of :data:`MAPPING_PRESETS`).

    For ``"mercari"``, pass the file's ``columns`` to get the test-file variant (``test_id``,
    no price) when the file is Kaggle's ``test.tsv``.
    """
    key = name.strip().lower()
    if key not in _PRESETS:
        raise SchemaError(
            f"unknown mapping preset {name!r}; presets are {list(MAPPING_PRESETS)}, "
            "or pass a JSON mapping file."
        )
    present = set(columns or ())
    if key == "mercari" and "test_id" in present and "train_id" not in present:
        return _MERCARI_TEST
    return _PRESETS[key]


def detect_mapping(columns: Iterable[str], *, file: str) -> tuple[ColumnMapping, str]:
    """The mapping for a file from its header, and a word on how it was chosen.

    A preset's native header wins; then canonical column names; otherwise SchemaError.
    """
    present = [str(column) for column in columns]
    for name, signatures in _SIGNATURES.items():
        if any(signature <= set(present) for signature in signatures):
            return get_mapping(name, columns=present), f"preset {name!r}"
    if "name" in present:
        return ColumnMapping.identity(present), "canonical column names"
    raise SchemaError(
        f"cannot tell which columns hold the listing fields; the file has {present}. A listings "
        f"file needs at least a 'name' column (canonical columns: {list(LISTING_COLUMNS)}). "
        f"Pass mapping= a preset {list(MAPPING_PRESETS)}, a ColumnMapping, or a JSON file such "
        'as {"name": "<title column>", "price": "<price column>"}.',
        file=file,
    )
