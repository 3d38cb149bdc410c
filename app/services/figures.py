"""How official figures anchor the numbers of a region (pure functions, no I/O).

eligible(R, d) is R's latest eligible figure dated <= d, else the sum over R's children that
have one. Unrolled, it is the sum over R's *frontier*: the regions in R's subtree with a
figure and no ancestor (R included) between them and R that has one.

recorded(R, d) is the same unrolling for recorded figures: the frontier's published values
stand in for all counts below them dated up to their figure, so
    recorded(R, d) = counts_through(R, d) + sum over the frontier of (recorded - counts_through)
where a figure's counts_through is the sum of its region's subtree counts up to its date.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Anchor:
    region: str
    lineage: tuple[str, ...]  # from the nation down to region, itself included
    date: date
    value: int  # the published eligible or recorded figure
    counts_through: int = 0  # subtree counts up to date (recorded figures only)


def latest(anchors: Iterable[Anchor], as_of: date) -> dict[str, Anchor]:
    """Each region's latest anchor dated on or before as_of."""
    found: dict[str, Anchor] = {}
    for anchor in anchors:
        if anchor.date <= as_of:
            best = found.get(anchor.region)
            if best is None or anchor.date > best.date:
                found[anchor.region] = anchor
    return found


def frontier(anchors: dict[str, Anchor], top_depth: int) -> list[Anchor]:
    """Anchors with no anchored ancestor at depth >= top_depth (depth of ID is 0)."""
    return [
        anchor
        for anchor in anchors.values()
        if not any(ancestor in anchors for ancestor in anchor.lineage[top_depth:-1])
    ]


def eligible_of(frontier_anchors: list[Anchor]) -> int | None:
    return sum(a.value for a in frontier_anchors) if frontier_anchors else None


def recorded_adjustment(frontier_anchors: list[Anchor]) -> int:
    return sum(a.value - a.counts_through for a in frontier_anchors)


def child_of(anchor: Anchor, depth: int) -> str | None:
    """The region at `depth` on the anchor's lineage (None when the anchor is above it)."""
    return anchor.lineage[depth] if len(anchor.lineage) > depth else None


def by_child(anchors: list[Anchor], depth: int) -> dict[str, list[Anchor]]:
    """Anchors grouped by the region at `depth` above them (anchors above it are left out)."""
    grouped: dict[str, list[Anchor]] = {}
    for anchor in anchors:
        child = child_of(anchor, depth)
        if child is not None:
            grouped.setdefault(child, []).append(anchor)
    return grouped
