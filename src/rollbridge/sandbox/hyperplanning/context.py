"""What an operation's behaviour sees (`Ctx`), its signature (`Handler`) and shared helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rollbridge.sandbox.hyperplanning.attendance import Attendance
from rollbridge.sandbox.hyperplanning.base import Base, Entity
from rollbridge.sandbox.hyperplanning.layout import Layout
from rollbridge.sandbox.hyperplanning.wire import Args, SoapFault, Value

VERSION = "2025.0.2.1"


@dataclass(slots=True)
class Ctx:
    """The current base and its marks."""

    base: Base
    marks: Attendance

    @property
    def layout(self) -> Layout:
        return self.base.layout


Handler = Callable[[Ctx, Args], Value]
Field = Callable[[Layout, int], Value]


def one(entity: Entity, param: str, field: Field) -> Handler:
    """A per-key getter: `NomSalle(ASalle)`."""

    def handler(ctx: Ctx, args: Args) -> Value:
        return field(ctx.layout, ctx.base.find(entity, args.key(param)))

    return handler


def bulk(entity: Entity, field: Field) -> Handler:
    """A `…TableauDe…` twin: one answer per key of `ATableau`, in the same order (§4)."""

    def handler(ctx: Ctx, args: Args) -> Value:
        layout = ctx.layout
        return [field(layout, index) for index in ctx.base.find_all(entity, args.keys("ATableau"))]

    return handler


def every(entity: Entity) -> Handler:
    """`TousLes…` / `ToutesLes…`: every key, ascending."""

    def handler(ctx: Ctx, _: Args) -> Value:
        return ctx.base.all_keys(entity)

    return handler


def linked(
    entity: Entity, param: str, target: Entity, pick: Callable[[Layout, int], tuple[int, ...]]
) -> Handler:
    """A list of related keys: `EnseignantsDuCours(ACours)`."""

    def handler(ctx: Ctx, args: Args) -> Value:
        index = ctx.base.find(entity, args.key(param))
        return ctx.base.keys(target, pick(ctx.layout, index))

    return handler


def not_found(what: str) -> SoapFault:
    """The Fault of an `Acceder…` lookup that matched nothing (§9)."""
    return SoapFault(f"Aucun élément ne correspond : {what}")
