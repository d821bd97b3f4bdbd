"""A name index with strict-to-loose match levels, ambiguity handling and fuzzy suggestions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process

from kg.resolve.normalise import compact_key, fold, normalise, strip_qualifiers, strip_salts, token_key

FUZZY_MIN_SCORE = 90.0  # rapidfuzz ratio (0-100) a loader-facing fuzzy match needs
FUZZY_MIN_LENGTH = 6  # shorter queries are never fuzzy-resolved ("ace" is not "ade")
FUZZY_MARGIN = 3.0  # the best entity must beat any other entity by this much
PREFILTER = 400  # keys sharing the most trigrams with a query that rapidfuzz then scores

SCORES = {"id": 1.0, "xref": 1.0, "exact": 1.0, "alias": 1.0, "brand": 0.98, "normalised": 0.95,
          "xref-prefix": 0.9, "salt-stripped": 0.9, "broader": 0.8}


@dataclass(frozen=True)
class Resolution:
    """One resolved name: the standard id, the name it matched, how, and a 0-1 confidence."""

    id: str
    matched_name: str
    method: str
    score: float

    def to_dict(self) -> dict:
        return {"id": self.id, "matched_name": self.matched_name, "method": self.method, "score": self.score}


@dataclass(frozen=True)
class Suggestion:
    """A ranked candidate for a name: id, the entity's own name, the name that matched, score 0-100."""

    id: str
    name: str
    matched_name: str
    score: float

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "matched_name": self.matched_name, "score": round(self.score, 1)}


@dataclass(frozen=True)
class Match:
    """The outcome of a lookup: a resolution, or the ids an ambiguous name could mean, or neither."""

    query: str
    resolution: Resolution | None = None
    ambiguous: tuple[str, ...] = ()

    @property
    def resolved(self) -> bool:
        return self.resolution is not None


@dataclass
class _Level:
    """key -> {id: the original name that produced the key}."""

    keys: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))

    def add(self, key: str | None, entity_id: str, name: str) -> None:
        if key:
            self.keys[key].setdefault(entity_id, name)


class NameIndex:
    """Names and aliases of entities, looked up level by level: exact, alias, normalised, salt-stripped, fuzzy.

    At each level a name shared by several entities resolves to the one whose own (primary) name has the
    same normalised key; otherwise the lookup stops there and reports the name as ambiguous.
    """

    def __init__(self, salts: bool = False) -> None:
        self.salts = salts
        self.primary: dict[str, str] = {}
        self._exact, self._alias = _Level(), _Level()
        self._norm, self._tokens, self._salt = _Level(), _Level(), _Level()
        self._choices: list[str] | None = None
        self._choice_ids: list[dict[str, str]] = []
        self._vocabulary: set[str] = set()
        self._postings: dict[str, np.ndarray] = {}
        self._gram_counts = np.zeros(0, dtype=np.float32)

    def __len__(self) -> int:
        return len(self.primary)

    def add(self, entity_id: str, name: str, primary: bool = False) -> None:
        """Index one name of an entity; the first primary name given is the entity's display name."""
        name = name.strip()
        if not name:
            return
        if primary:
            self.primary.setdefault(entity_id, name)
            self._exact.add(fold(name), entity_id, name)
        else:
            self._alias.add(fold(name), entity_id, name)
        self._norm.add(normalise(name), entity_id, name)
        self._norm.add(normalise(strip_qualifiers(name)), entity_id, name)
        self._tokens.add(token_key(name), entity_id, name)
        self._tokens.add(compact_key(name), entity_id, name)
        if self.salts:
            self._salt.add(strip_salts(name) or normalise(name), entity_id, name)
        self._choices = None

    def add_many(self, entity_id: str, names: Iterable[str]) -> None:
        for name in names:
            self.add(entity_id, name)

    def _pick(self, candidates: dict[str, str], query_key: str) -> tuple[str | None, tuple[str, ...]]:
        if len(candidates) == 1:
            return next(iter(candidates)), ()
        own = [i for i in candidates if normalise(self.primary.get(i, "")) == query_key]
        if len(own) == 1:
            return own[0], ()
        return None, tuple(sorted(own or candidates))

    def lookup(self, name: str, fuzzy: bool = True) -> Match:
        """Resolve `name` at the strictest level that knows it; fuzzy (if allowed) only past all others."""
        query_key = normalise(name)
        levels: list[tuple[str, _Level, str | None]] = [
            ("exact", self._exact, fold(name)),
            ("alias", self._alias, fold(name)),
            ("normalised", self._norm, query_key),
            ("normalised", self._norm, normalise(strip_qualifiers(name))),
            ("normalised", self._tokens, token_key(name)),
            ("normalised", self._tokens, compact_key(name)),
        ]
        if self.salts:
            levels.append(("salt-stripped", self._salt, strip_salts(name)))
        for method, level, key in levels:
            if not key or key not in level.keys:
                continue
            candidates = level.keys[key]
            chosen, ambiguous = self._pick(candidates, query_key)
            if ambiguous:
                return Match(name, ambiguous=ambiguous)
            assert chosen is not None
            return Match(name, Resolution(chosen, candidates[chosen], method, SCORES[method]))
        if fuzzy:
            return self._fuzzy(name)
        return Match(name)

    def _fuzzy(self, name: str) -> Match:
        key = normalise(name)
        if len(key) < FUZZY_MIN_LENGTH:
            return Match(name)
        if self._choices is None:
            self._build_choices()
        if all(token in self._vocabulary for token in key.split()):
            return Match(name)  # real words, just not a known name ("insulin" is not a typo of "inulin")
        ranked = self.suggest(name, k=2)
        if not ranked or ranked[0].score < FUZZY_MIN_SCORE:
            return Match(name)
        if len(ranked) > 1 and ranked[0].score - ranked[1].score < FUZZY_MARGIN:
            return Match(name, ambiguous=tuple(sorted({ranked[0].id, ranked[1].id})))
        best = ranked[0]
        other = normalise(best.matched_name)
        if key in other or other in key:
            return Match(name)  # an added prefix or suffix is another drug (armodafinil), not a typo
        return Match(name, Resolution(best.id, best.matched_name, "fuzzy", round(best.score / 100, 3)))

    @property
    def fuzzy_ready(self) -> bool:
        """Whether the typo-tolerant matcher is built (the first fuzzy lookup builds it: seconds)."""
        return self._choices is not None

    def _build_choices(self) -> None:
        self._choices = list(self._norm.keys)
        self._choice_ids = [self._norm.keys[k] for k in self._choices]
        self._vocabulary = {token for k in self._choices for token in k.split()}
        postings: dict[str, list[int]] = defaultdict(list)
        for pos, choice in enumerate(self._choices):
            for gram in _trigrams(choice):
                postings[gram].append(pos)
        self._postings = {gram: np.asarray(ids, dtype=np.int32) for gram, ids in postings.items()}
        self._gram_counts = np.asarray([len(_trigrams(c)) for c in self._choices], dtype=np.float32)

    def _candidates(self, key: str) -> list[int]:
        """Positions of the keys with the best trigram (Dice) overlap: the prefilter before rapidfuzz."""
        grams = [self._postings[g] for g in _trigrams(key) if g in self._postings]
        if not grams:
            return []
        shared = np.bincount(np.concatenate(grams), minlength=len(self._choices)).astype(np.float32)
        dice = 2 * shared / (len(_trigrams(key)) + self._gram_counts)
        if len(dice) <= PREFILTER:
            return [int(i) for i in np.flatnonzero(shared)]
        top = np.argpartition(-dice, PREFILTER)[:PREFILTER]
        return [int(i) for i in top if shared[i] > 0]

    def suggest(self, name: str, k: int = 5, min_score: float = 50.0) -> list[Suggestion]:
        """Up to `k` entities ranked by the best rapidfuzz ratio of any of their names to `name`."""
        if self._choices is None:
            self._build_choices()
        assert self._choices is not None
        key = normalise(strip_qualifiers(name)) or normalise(name)
        if not key:
            return []
        positions = self._candidates(key)
        choices = {pos: self._choices[pos] for pos in positions}
        hits = process.extract(key, choices, scorer=fuzz.ratio, limit=max(10, 4 * k), score_cutoff=min_score)
        best: dict[str, Suggestion] = {}
        for _choice, score, pos in hits:
            for entity_id, matched in self._choice_ids[pos].items():
                if entity_id not in best or score > best[entity_id].score:
                    best[entity_id] = Suggestion(entity_id, self.primary.get(entity_id, matched), matched, score)
        ranked = sorted(best.values(), key=lambda s: (-s.score, s.name != s.matched_name, s.id))
        return ranked[:k]


def _trigrams(key: str) -> set[str]:
    padded = f"  {key} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}
