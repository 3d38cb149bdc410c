"""Delegation by region: an admin token scoped to R administers R's subtree and nothing else.

The one place that decides whether an actor may write at a region. Every admin write calls
check_scope with the region codes it touches (a batch passes them all at once), before it
writes anything. Reads never consult the scope."""

from collections.abc import Iterable

from app.auth import Actor
from app.codes import NATION
from app.errors import Forbidden


def in_subtree(code: str, root: str) -> bool:
    """Whether `code` is `root` or a region under it (codes are valid Kemendagri codes)."""
    return root == NATION or code == root or code.startswith(root + ".")


def scope_of(actor: Actor) -> str:
    """The root of the subtree the actor administers: its region, or the nation."""
    return actor.region or NATION


def outside_scope(actor: Actor, code: str, *, strictly_below: bool = False) -> bool:
    root = scope_of(actor)
    if strictly_below and code == root:
        return True
    return not in_subtree(code, root)


def scope_refusal(actor: Actor, codes: Iterable[str], *, strictly_below: bool = False) -> str:
    """The message of a 403 for regions outside the actor's scope; it names the scope."""
    shown = ", ".join(sorted(set(codes))[:5])
    where = "strictly under" if strictly_below else "in the subtree of"
    return (
        f"this token is scoped to region {scope_of(actor)}: it may only write {where} it, "
        f"not {shown}"
    )


def check_scope(actor: Actor, codes: Iterable[str], *, strictly_below: bool = False) -> None:
    """Forbidden, naming the actor's scope, unless every region in `codes` is in it
    (strictly below its root with strictly_below, as for deleting a region)."""
    outside = [c for c in codes if outside_scope(actor, c, strictly_below=strictly_below)]
    if outside:
        raise Forbidden(scope_refusal(actor, outside, strictly_below=strictly_below))
