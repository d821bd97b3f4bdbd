"""Entity linking for questions: an in-memory gazetteer of graph names, synonyms and brand names (exact and
singular forms), then typo-tolerant matching (rapidfuzz, the DrugBank resolver) and, for lay terms, the
text-embedding vector index, each with a confidence; ambiguous names come back with their candidates.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process

from gnn.qa.cues import cue_words
from gnn.qa.templates import HAND, OUT_OF_SCOPE, TEMPLATES

LINK_LABELS = ("Drug", "Disease", "Symptom", "SideEffect", "PharmacologicClass")
MAX_NGRAM = 8
FUZZY_CUTOFF = 86.0  # rapidfuzz ratio (0-100) a typo match needs
VECTOR_MIN_COSINE = 0.72  # a lay term linked by meaning alone needs this cosine
CLEAR_WINNER = 3.0  # an ambiguous name resolves to the candidate with this many times the next one's edges
KIND_SCORE = {"name": 1.0, "synonym": 0.95, "brand": 0.95}

STOP = frozenset("""
a an the of for in on at to with and or by from is are was were be been do does did what which who whom how
why where when can could should would might may will i me my we our you your it its this that these those any
some all there their them they he she his her as about into than then so if not no yes please tell give show
list name find get let us one have has had am just like also other more most very much many up out over per vs
via whats what's
""".split())  # noqa: SIM905
_SLOT = re.compile(r"\{[a-z_0-9]+\}")
_TOKEN = re.compile(r"[a-z0-9]+")


def normalise(text: str) -> str:
    """Lower case, accents folded, apostrophes dropped ("Alzheimer's" -> "alzheimers"), other punctuation -> space."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace("'", "")
    return " ".join(_TOKEN.findall(text))


def singular(key: str) -> str:
    """The last word's singular: "headaches" -> "headache", "allergies" -> "allergy" (plurals of findings)."""
    head, _, last = key.rpartition(" ")
    if len(last) > 4 and last.endswith("ies"):
        last = last[:-3] + "y"
    elif len(last) > 3 and last.endswith("s") and not last.endswith(("ss", "us", "is")):
        last = last[:-1]
    return f"{head} {last}".strip()


def question_vocabulary(phrasings: Iterable[str] | None = None) -> set[str]:
    """Words of the phrasings (all of them, or only `phrasings`: the evaluation reads test questions with the
    training phrasings' words only) and of the cue lexicon: never entity names on their own ("symptoms",
    "drug", "class"), never typos."""
    words = set(STOP) | cue_words()
    if phrasings is None:
        phrasings = [p for group in [*TEMPLATES.values(), *HAND.values(), *OUT_OF_SCOPE] for p in group]
    for p in phrasings:
        words.update(normalise(_SLOT.sub(" ", p)).split())
    return words


@dataclass(frozen=True)
class Entry:
    label: str
    id: str
    name: str
    kind: str  # name | synonym | brand
    degree: int = 0


@dataclass
class Link:
    """One linked entity (or an unresolved mention): the text, label, id, name, confidence, how, and the
    alternatives it could also mean."""

    text: str
    label: str | None
    id: str | None
    name: str | None
    confidence: float
    method: str
    start: int = -1
    end: int = -1
    alternatives: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "label": self.label, "id": self.id, "name": self.name,
                "confidence": round(self.confidence, 3), "method": self.method, "alternatives": self.alternatives}


@dataclass
class Mention:
    start: int  # token positions in the normalised question
    end: int
    text: str
    entries: list[Entry]
    variant: str  # exact | singular | fuzzy
    score: float = 1.0

    def labels(self) -> list[str]:
        return list(dict.fromkeys(e.label for e in self.entries))


class Gazetteer:
    """Normalised name -> entries, built from graph rows {label, id, name, synonyms, brand_names, degree}."""

    def __init__(self, rows: Iterable[dict[str, Any]]) -> None:
        self.keys: dict[str, list[Entry]] = defaultdict(list)
        self.names: dict[tuple[str, str], str] = {}
        self.degree: dict[tuple[str, str], int] = {}
        blocked = question_vocabulary()
        for r in rows:
            label, node_id, name = r["label"], r["id"], r.get("name") or r["id"]
            self.names[(label, node_id)] = name
            deg = int(r.get("degree") or 0)
            self.degree[(label, node_id)] = deg
            forms = [(name, "name")] + [(s, "synonym") for s in r.get("synonyms") or []] + \
                    [(b, "brand") for b in r.get("brand_names") or []]
            seen: set[str] = set()
            for text, kind in forms:
                key = normalise(str(text))
                if len(key) < 3 or key in seen or all(w in blocked for w in key.split()):
                    continue
                if kind != "name" and len(key) < 4:  # short aliases ("ms", "ra") collide with words
                    continue
                seen.add(key)
                self.keys[key].append(Entry(label, node_id, name, kind, deg))
        self.by_label: dict[str, list[str]] = defaultdict(list)
        for key, entries in self.keys.items():
            for lab in {e.label for e in entries}:
                self.by_label[lab].append(key)
        self.max_n = min(MAX_NGRAM, max((len(k.split()) for k in self.keys), default=1))

    def __len__(self) -> int:
        return len(self.keys)

    def lookup(self, key: str) -> tuple[list[Entry], str]:
        if key in self.keys:
            return self.keys[key], "exact"
        s = singular(key)
        if s != key and s in self.keys:
            return self.keys[s], "singular"
        return [], ""

    def scan(self, question: str) -> tuple[list[str], list[Mention]]:
        """Tokens of the normalised question and its longest non-overlapping gazetteer mentions, left to right."""
        tokens = normalise(question).split()
        out: list[Mention] = []
        i = 0
        while i < len(tokens):
            for n in range(min(self.max_n, len(tokens) - i), 0, -1):
                key = " ".join(tokens[i:i + n])
                entries, variant = self.lookup(key)
                if entries:
                    out.append(Mention(i, i + n, key, entries, variant))
                    i += n
                    break
            else:
                i += 1
        return tokens, out

    def typo_mentions(self, tokens: list[str], mentions: list[Mention], vocabulary: set[str]) -> list[Mention]:
        """`mentions` plus each run of unknown words that is a typo of a name (any label), so that the intent
        classifier sees the entity's type ("drugs that induce Cytsitis" -> a finding, not an unknown word)."""
        out = list(mentions)
        covered = {i for m in mentions for i in range(m.start, m.end)}
        i = 0
        while i < len(tokens):
            if i in covered or tokens[i] in vocabulary:
                i += 1
                continue
            j = i
            while j < len(tokens) and j not in covered and tokens[j] not in vocabulary:
                j += 1
            run = " ".join(tokens[i:j])
            best: tuple[Entry, float] | None = None
            for label in LINK_LABELS:
                found = self.fuzzy(run, label, k=1)
                if found and (best is None or found[0][1] > best[1]):
                    best = found[0]
            if best is not None:
                out.append(Mention(i, j, run, [best[0]], "fuzzy", best[1]))
            i = j
        return sorted(out, key=lambda m: m.start)

    def fuzzy(self, text: str, label: str, k: int = 5, cutoff: float = FUZZY_CUTOFF) -> list[tuple[Entry, float]]:
        """Typo-tolerant matches of `text` among `label`'s names (score 0-1), best first."""
        key = normalise(text)
        if len(key) < 5:
            return []
        out: dict[str, tuple[Entry, float]] = {}
        for cand, score, _ in process.extract(key, self.by_label.get(label, []), scorer=fuzz.ratio, limit=k,
                                              score_cutoff=cutoff):
            for e in self.keys[cand]:
                if e.label == label and (e.id not in out or out[e.id][1] < score / 100):
                    out[e.id] = (e, score / 100)
        return sorted(out.values(), key=lambda t: -t[1])


_VOCAB = question_vocabulary()
LABEL_TOKEN = {"Drug": "drugx", "Disease": "diseasex", "Symptom": "findingx", "SideEffect": "findingx",
               "PharmacologicClass": "classx"}
CAN_COUNT = {"Drug": "can_drug", "Disease": "can_disease", "Symptom": "can_symptom", "SideEffect": "can_side_effect",
             "PharmacologicClass": "can_class"}
MASK_PRIORITY = ("Drug", "PharmacologicClass", "Disease", "Symptom", "SideEffect")


def mask(tokens: list[str], mentions: list[Mention], vocabulary: set[str] | None = None
         ) -> tuple[str, dict[str, int]]:
    """The question with each mention replaced by a type word (what the intent classifier reads), each run of
    unknown words (typos, names not in the graph) by "unknownx", and the counts per type word, per label a
    mention could have (`can_side_effect`: "plasmacytoma" is masked as a disease but is also a side effect) and
    of unknown runs."""
    out, counts = [], {"drugx": 0, "diseasex": 0, "findingx": 0, "classx": 0, "can_drug": 0, "can_disease": 0,
                       "can_symptom": 0, "can_side_effect": 0, "can_class": 0, "unknownx": 0}
    by_start = {m.start: m for m in mentions}
    vocabulary = vocabulary if vocabulary is not None else _VOCAB
    i = 0
    while i < len(tokens):
        m = by_start.get(i)
        if m is None:
            if tokens[i] in vocabulary or tokens[i].isdigit():
                out.append(tokens[i])
            elif not out or out[-1] != "unknownx":
                out.append("unknownx")
                counts["unknownx"] += 1
            i += 1
            continue
        labels = m.labels()
        word = LABEL_TOKEN[next(lab for lab in MASK_PRIORITY if lab in labels)]
        counts[word] += 1
        for lab in labels:
            counts[CAN_COUNT[lab]] += 1
        out.append(word)
        i = m.end
    return " ".join(out), counts


def choose(entries: list[Entry], label: str) -> tuple[Entry | None, list[Entry]]:
    """The entry a name means among `label`'s entries: unique id, else the one named so (not by synonym), else a
    clear winner by graph degree; otherwise (None, the candidates)."""
    cands: dict[str, Entry] = {}
    for e in entries:
        if e.label == label and (e.id not in cands or KIND_SCORE[e.kind] > KIND_SCORE[cands[e.id].kind]):
            cands[e.id] = e
    ranked = sorted(cands.values(), key=lambda e: (-KIND_SCORE[e.kind], not e.id.startswith("DB"), -e.degree, e.id))
    if len(ranked) <= 1:
        return (ranked[0] if ranked else None), ranked
    named = [e for e in ranked if e.kind == "name"]
    if len(named) == 1:
        return named[0], ranked
    pool = named or ranked
    drugbank = [e for e in pool if e.id.startswith("DB")]
    if label == "Drug" and len(drugbank) == 1:
        return drugbank[0], ranked
    pool = sorted(pool, key=lambda e: -e.degree)
    if pool[0].degree >= CLEAR_WINNER * max(1, pool[1].degree):
        return pool[0], ranked
    return None, ranked


def leftover_runs(tokens: list[str], mentions: list[Mention], vocabulary: set[str]) -> list[str]:
    """Contiguous runs of question words that are neither mentions nor phrasing words (typos, lay terms)."""
    covered = {i for m in mentions for i in range(m.start, m.end)}
    runs, cur = [], []
    for i, t in enumerate(tokens):
        if i in covered or t in vocabulary:
            if cur:
                runs.append(" ".join(cur))
            cur = []
        else:
            cur.append(t)
    if cur:
        runs.append(" ".join(cur))
    return runs


VectorFn = Callable[[str, str, int], list[dict[str, Any]]]  # (label, text, k) -> [{id, name, cosine}]
DrugMatchFn = Callable[[str], tuple[str, str, float] | None]  # text -> (id, matched name, score) or None
