"""Deterministic assignment of units (users, sessions, listings) to experiment variants.

A unit's variant is a pure function of its id and the experiment's salt: the same unit meets
the same variant in every call, process and server, with nothing stored. Two hashes decide:

- the *layer position* (salt: the layer's name) says whether a unit is in an experiment at all.
  Each experiment of a layer owns a disjoint range of positions, ``traffic`` wide, after the
  layer's holdout range, so experiments of one layer never share a unit. Ramping an
  experiment's traffic up only adds units: no unit already in it moves.
- the *variant position* (salt: the experiment's salt, by default its name) picks the variant
  by the weights. It is independent of the layer position, so a unit's variant does not
  depend on where in the layer's range it fell.

Different layers hash with different salts, so experiments in different layers overlap
independently: a unit's variant in one says nothing about its variant in another.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import accumulate

from furima.exceptions import ExperimentConfigError

__all__ = ["DEFAULT_LAYER", "Experiment", "ExperimentPlan", "Layer", "unit_position"]

DEFAULT_LAYER = "default"
_TOLERANCE = 1e-9


def unit_position(salt: str, unit_id: str) -> float:
    """Where ``unit_id`` falls in ``[0, 1)`` under ``salt``: uniform, stable, independent
    across salts (the first 64 bits of SHA-256 of ``"salt:unit"``)."""
    digest = hashlib.sha256(f"{salt}:{unit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


@dataclass(frozen=True)
class Experiment:
    """One experiment: its variants, their weights and the share of units it takes.

    Attributes:
        name: Unique across a plan; also the default salt.
        variants: Variant names, control first (at least two, all different).
        weights: Relative share of each variant (positive); ``None`` splits evenly.
        unit: What is randomised (``"user"``, ``"session"``, ``"listing"``), for the record
            and for :meth:`ExperimentPlan.assign`'s ``unit`` filter.
        traffic: Share of the layer's units in the experiment at all, in ``(0, 1]``.
        layer: The layer it belongs to (experiments of one layer never overlap).
        salt: Hash salt of the variant choice; ``None`` uses ``name``. Change it to
            reshuffle units after a bug, keep it to keep units in their variants.
    """

    name: str
    variants: Sequence[str] = ("control", "treatment")
    weights: Sequence[float] | None = None
    unit: str = "user"
    traffic: float = 1.0
    layer: str = DEFAULT_LAYER
    salt: str | None = None
    shares: tuple[float, ...] = field(init=False, repr=False, compare=False)
    """The weights normalised to add up to 1."""

    def __post_init__(self) -> None:
        _named("experiment", self.name)
        variants = tuple(self.variants)
        object.__setattr__(self, "variants", variants)
        if self.weights is not None:
            object.__setattr__(self, "weights", tuple(self.weights))
        _check_variants(self.name, variants)
        object.__setattr__(self, "shares", _shares(self.name, variants, self.weights))
        if not (isinstance(self.traffic, int | float) and 0.0 < self.traffic <= 1.0):
            raise ExperimentConfigError(
                f"Experiment {self.name!r}: `traffic` is the share of units in the "
                f"experiment and must be in (0, 1], but got {self.traffic!r}."
            )
        _named("layer", self.layer)

    @property
    def variant_salt(self) -> str:
        return self.name if self.salt is None else self.salt

    def variant_of(self, unit_id: str) -> str:
        """The variant ``unit_id`` meets once it is in the experiment (by weight)."""
        position = unit_position(self.variant_salt, str(unit_id))
        for variant, edge in zip(self.variants, accumulate(self.shares), strict=True):
            if position < edge:
                return variant
        return self.variants[-1]  # float rounding at the very top

    def assign(self, unit_id: str) -> str | None:
        """The variant of ``unit_id``, or ``None`` when it is outside the experiment's traffic
        (the experiment alone in its layer, without holdout)."""
        return Layer(self.layer, [self]).assign(unit_id).get(self.name)


@dataclass(frozen=True)
class Layer:
    """Experiments that must never share a unit, after a holdout kept out of all of them.

    Attributes:
        name: The layer's name, its hash salt.
        experiments: Each takes the next ``traffic``-wide range of layer positions.
        holdout: Share of units (the first range) kept out of every experiment of the layer.
    """

    name: str
    experiments: Sequence[Experiment] = ()
    holdout: float = 0.0

    def __post_init__(self) -> None:
        _named("layer", self.name)
        if not (isinstance(self.holdout, int | float) and 0.0 <= self.holdout < 1.0):
            raise ExperimentConfigError(
                f"Layer {self.name!r}: `holdout` is a share of units and must be in [0, 1), "
                f"but got {self.holdout!r}."
            )
        placed = tuple(_placed(self.name, experiment) for experiment in self.experiments)
        object.__setattr__(self, "experiments", placed)
        _unique_names(placed, where=f"layer {self.name!r}")
        total = self.holdout + sum(experiment.traffic for experiment in placed)
        if total > 1.0 + _TOLERANCE:
            shares = ", ".join(f"{e.name}={e.traffic:g}" for e in placed)
            raise ExperimentConfigError(
                f"Layer {self.name!r} is over 100% of traffic: holdout {self.holdout:g} plus "
                f"{shares} add up to {total:g}. Lower some experiments' `traffic`, or move "
                "one to another layer (experiments in different layers may share units)."
            )

    @property
    def salt(self) -> str:
        return f"layer:{self.name}"

    def ranges(self) -> dict[str, tuple[float, float]]:
        """Each experiment's ``[start, end)`` range of layer positions."""
        edges = list(accumulate((e.traffic for e in self.experiments), initial=self.holdout))
        return {
            experiment.name: (start, end)
            for experiment, start, end in zip(self.experiments, edges, edges[1:], strict=False)
        }

    def assign(self, unit_id: str) -> dict[str, str]:
        """``{experiment: variant}`` for the one experiment of this layer ``unit_id`` is in
        (empty when it is held out or in no experiment's range)."""
        unit_id = str(unit_id)
        position = unit_position(self.salt, unit_id)
        if position < self.holdout:
            return {}
        start = self.holdout
        for experiment in self.experiments:
            if position < start + experiment.traffic:
                return {experiment.name: experiment.variant_of(unit_id)}
            start += experiment.traffic
        return {}


class ExperimentPlan:
    """Every running experiment, in layers: one call assigns a unit to all of them.

    Args:
        layers: Layers, and experiments not wrapped in one (grouped into layers by their
            ``layer`` attribute, without holdout).
    """

    def __init__(self, layers: Iterable[Layer | Experiment] = ()) -> None:
        given = list(layers)
        loose = [item for item in given if isinstance(item, Experiment)]
        built = [item for item in given if isinstance(item, Layer)]
        _unique_layers(built)
        for name in dict.fromkeys(experiment.layer for experiment in loose):
            if any(layer.name == name for layer in built):
                raise ExperimentConfigError(
                    f"Experiments name layer {name!r}, which is also given as a Layer; put "
                    "them in that Layer's `experiments` instead."
                )
            built.append(Layer(name, [e for e in loose if e.layer == name]))
        _unique_names([e for layer in built for e in layer.experiments], where="the plan")
        self.layers: tuple[Layer, ...] = tuple(built)

    @property
    def experiments(self) -> dict[str, Experiment]:
        return {e.name: e for layer in self.layers for e in layer.experiments}

    def assign(self, unit_id: str, *, unit: str | None = None) -> dict[str, str]:
        """``{experiment: variant}`` for every experiment ``unit_id`` is in (only those
        randomised by ``unit`` when given)."""
        assigned: dict[str, str] = {}
        for layer in self.layers:
            assigned.update(layer.assign(unit_id))
        if unit is not None:
            kinds = self.experiments
            assigned = {name: v for name, v in assigned.items() if kinds[name].unit == unit}
        return assigned


def _named(what: str, name: object) -> None:
    if not isinstance(name, str) or not name.strip():
        raise ExperimentConfigError(f"A {what} needs a non-empty name, but got {name!r}.")


def _check_variants(name: str, variants: tuple[str, ...]) -> None:
    if len(variants) < 2:
        raise ExperimentConfigError(
            f"Experiment {name!r} needs at least two variants (a control and a treatment), "
            f"but got {list(variants)}."
        )
    if not all(isinstance(v, str) and v.strip() for v in variants):
        raise ExperimentConfigError(
            f"Experiment {name!r}: variant names must be non-empty strings, got {list(variants)}."
        )
    if len(set(variants)) != len(variants):
        raise ExperimentConfigError(
            f"Experiment {name!r} names a variant twice: {list(variants)}. Give each a "
            "different name."
        )


def _shares(
    name: str, variants: tuple[str, ...], weights: Sequence[float] | None
) -> tuple[float, ...]:
    if weights is None:
        return tuple(1.0 / len(variants) for _ in variants)
    weights = tuple(weights)
    if len(weights) != len(variants):
        raise ExperimentConfigError(
            f"Experiment {name!r} has {len(variants)} variants {list(variants)} but "
            f"{len(weights)} weights {list(weights)}; give one weight per variant."
        )
    if not all(isinstance(w, int | float) and math.isfinite(w) and w > 0 for w in weights):
        raise ExperimentConfigError(
            f"Experiment {name!r}: every weight must be a positive number, but got "
            f"{list(weights)}. Leave a variant out rather than give it weight 0."
        )
    total = float(sum(weights))
    return tuple(float(w) / total for w in weights)


def _placed(layer: str, experiment: Experiment) -> Experiment:
    """``experiment`` as a member of ``layer`` (its ``layer`` set when left at the default)."""
    if experiment.layer == layer:
        return experiment
    if experiment.layer == DEFAULT_LAYER:
        return replace(experiment, layer=layer)
    raise ExperimentConfigError(
        f"Experiment {experiment.name!r} names layer {experiment.layer!r} but is given in "
        f"layer {layer!r}; put it in one of them."
    )


def _unique_names(experiments: Sequence[Experiment], *, where: str) -> None:
    seen: set[str] = set()
    for experiment in experiments:
        if experiment.name in seen:
            raise ExperimentConfigError(
                f"Two experiments in {where} are called {experiment.name!r}; experiment names "
                "must be unique (they salt the hash and name the results)."
            )
        seen.add(experiment.name)


def _unique_layers(layers: Sequence[Layer]) -> None:
    names = [layer.name for layer in layers]
    clashing = sorted({name for name in names if names.count(name) > 1})
    if clashing:
        raise ExperimentConfigError(
            f"Layer name(s) {', '.join(map(repr, clashing))} given twice; merge their "
            "experiments into one Layer."
        )
