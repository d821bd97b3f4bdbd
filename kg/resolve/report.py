"""The resolution report: per source, how many names resolved and how; what did not, with suggestions.

`python -m kg.resolve.measure --data-dir DIR [--json]` measures every source of the real data into one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kg.cliutil import table
from kg.resolve.index import Match, Suggestion

METHOD_ORDER = ("id", "xref", "exact", "alias", "brand", "normalised", "salt-stripped", "xref-prefix", "broader",
                "fuzzy")


@dataclass
class SourceStats:
    """Counts for one source: names seen, resolved by method, ambiguous and unresolved names."""

    total: int = 0
    methods: Counter = field(default_factory=Counter)
    ambiguous: dict[str, list[str]] = field(default_factory=dict)
    unresolved: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def resolved(self) -> int:
        return sum(self.methods.values())

    @property
    def rate(self) -> float:
        return self.resolved / self.total if self.total else 0.0


class ResolutionReport:
    """Collects outcomes per source; the loader stores `to_dict()` as JSON next to the build."""

    def __init__(self, max_suggestions: int = 3) -> None:
        self.sources: dict[str, SourceStats] = {}
        self.max_suggestions = max_suggestions

    def stats(self, source: str) -> SourceStats:
        return self.sources.setdefault(source, SourceStats())

    def record(self, source: str, raw: str, method: str | None, ambiguous: Sequence[str] = (),
               suggestions: Sequence[Suggestion] = ()) -> None:
        """One name's outcome: `method` if resolved, else the ids it could mean, else suggestions."""
        stats = self.stats(source)
        stats.total += 1
        if method is not None:
            stats.methods[method] += 1
        elif ambiguous:
            stats.ambiguous[raw] = list(ambiguous)
        else:
            stats.unresolved[raw] = [s.to_dict() for s in list(suggestions)[: self.max_suggestions]]

    def add(self, source: str, raw: str, match: Match,
            suggest: Callable[[str], list[Suggestion]] | None = None) -> Match:
        """Record a lookup; `suggest` (e.g. `resolver.suggest`) is called only for unresolved names."""
        method = match.resolution.method if match.resolution else None
        suggestions = suggest(raw) if (method is None and not match.ambiguous and suggest) else []
        self.record(source, raw, method, match.ambiguous, suggestions)
        return match

    def to_dict(self) -> dict:
        return {
            source: {
                "total": s.total,
                "resolved": s.resolved,
                "rate": round(s.rate, 4),
                "by_method": dict(sorted(s.methods.items(), key=lambda kv: method_rank(kv[0]))),
                "ambiguous": s.ambiguous,
                "unresolved": s.unresolved,
            }
            for source, s in self.sources.items()
        }

    def summary(self) -> str:
        """A readable table: one row per source with counts per method."""
        methods = sorted({m for s in self.sources.values() for m in s.methods}, key=method_rank)
        rows = [
            (source, s.total, s.resolved, f"{100 * s.rate:.1f}%", *[s.methods.get(m, 0) for m in methods],
             len(s.ambiguous), len(s.unresolved))
            for source, s in self.sources.items()
        ]
        return table(rows, ("source", "total", "resolved", "rate", *methods, "ambiguous", "unresolved"))


def method_rank(method: str) -> int:
    return METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER)
