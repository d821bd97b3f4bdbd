"""Cue-word lexicon: per meaning, the domain words and their synonyms ("interact", "mix", "combine", "clash" ...).
The intent classifier gets one feature per group (does the masked question contain any of its cues), so a
phrasing that was never trained on still fires the feature of a synonym that was ("colon cancer lookalikes" ->
the `resemble` group, which "similar to" and "resembling" taught). Words are matched on the normalised, masked
question (entity names are already replaced by type words, so a cue inside a name does not count).

Every cue word is also a question word (`linker.question_vocabulary`): never read as an unknown name or a typo.
"""

from __future__ import annotations

import re

import numpy as np

CUES: dict[str, tuple[str, ...]] = {
    "treat": ("treat", "treats", "treated", "treating", "treatment", "treatments", "therapy", "therapies", "cure",
              "cures", "remedy", "remedies", "prescribe", "prescribed", "indicated", "indication", "managed",
              "medicine for", "drugs for", "meds for", "medication for", "pills for", "work for", "works for",
              "help with", "helps with", "against", "first line", "approved for"),
    "palliate": ("relieve", "relieves", "relief", "ease", "eases", "easing", "palliative", "palliation", "palliate",
                 "alleviate", "alleviates", "soothe", "soothes", "comfort", "bearable", "symptomatic", "calm",
                 "symptom control", "manage", "uncomfortable", "symptoms only", "without curing", "not a cure"),
    "adverse": ("side effect", "side effects", "adverse", "reaction", "reactions",
                "unwanted", "bad effects", "complications", "problems", "risks", "make you sick", "sick", "harmful"),
    "cause": ("cause", "causes", "caused", "causing", "induce", "induces", "induced", "trigger", "triggers",
              "provoke", "provokes", "bring on", "lead to", "giving me", "give you", "gives"),
    "symptom": ("symptom", "symptoms", "signs", "sign", "present", "presents", "presentation", "manifest",
                "manifests", "manifestations", "features", "feel", "notice", "complain", "show itself",
                "look for", "warning signs"),
    "diagnose": ("differential", "diagnosis", "diagnoses", "could it be", "wrong with me", "what disease",
                 "which diseases", "what illness", "reason", "why do i have", "characterised", "characterized"),
    "gene": ("gene", "genes", "genetic", "genetics", "mutation", "mutations", "hereditary", "loci", "locus",
             "variants", "run in families", "susceptibility", "genetic basis"),
    "target": ("target", "targets", "targeted", "bind", "binds", "binding", "receptor", "receptors", "enzyme",
               "enzymes", "protein", "proteins", "act on", "acts on", "inhibit", "inhibits", "block", "blocks",
               "mode of action", "molecular", "aimed at", "hitting"),
    "class": ("class", "classes", "category", "categories", "group", "type", "kind", "family", "sort",
              "classification", "classified", "classify", "belong", "belongs", "fall in", "fall into"),
    "member": ("members", "examples", "belong to the", "count as", "classified as", "classified under",
               "list all", "every drug", "all of the"),
    "interact": ("interact", "interacts", "interaction", "interactions", "interacting", "mix", "mixing", "combine",
                 "combined", "combining", "combination", "combinations", "together", "clash", "alongside",
                 "contraindicated", "interfere", "interferes", "react", "reacts", "avoid", "not to take",
                 "should not be taken", "with other"),
    "check": ("safe", "ok", "okay", "problem", "dangerous", "plus", "between", "any interaction"),
    "location": ("where", "organ", "organs", "body", "anatomy", "anatomical", "tissue", "tissues", "located",
                 "location", "localise", "localize", "localises", "localizes", "site", "sites", "part of", "parts",
                 "region", "structures", "arise", "attack", "affected"),
    "resemble": ("resemble", "resembles", "resembling", "similar", "lookalike", "lookalikes", "look alike",
                 "look alikes", "looks like", "look like", "look similar", "mimic", "mimics", "confused",
                 "mistaken", "like", "related", "related to"),
    "explain": ("why", "reason", "rationale", "explain", "evidence", "connection", "connected", "link", "links",
                "relate", "supports", "justify", "mechanism by which", "how would", "how could"),
    "predict": ("predict", "predicted", "predicts", "prediction", "predictions", "possible", "possibly",
                "potential", "unreported", "unrecorded", "not known", "not yet", "might", "could", "likely",
                "suspected", "guess", "guesses", "model", "candidate", "candidates", "repurposing", "repurposed",
                "new", "untested", "not approved", "suggest", "suggestions", "ai"),
    "oos_dose": ("dose", "doses", "dosage", "mg", "how much", "how many", "how often", "daily", "per day",
                 "maximum", "too much", "miss a dose", "how long", "suddenly", "split", "tablets"),
    "oos_money": ("cost", "costs", "price", "prices", "buy", "insurance", "covered", "pay", "cheap", "order",
                  "online", "prescription", "refill", "generic", "pharmacy"),
    "oos_course": ("prognosis", "survival", "live", "life expectancy", "die", "deaths", "recovery", "fatal",
                   "how common", "percentage", "incidence", "prevalence", "worldwide", "age"),
    "oos_spread": ("contagious", "infectious", "transmitted", "transmit", "catch", "spread", "vaccine",
                   "vaccines", "vaccinated", "prevent", "prevented", "prevention", "get it from"),
    "oos_life": ("diet", "food", "foods", "eat", "exercise", "exercises", "sleep", "weight", "alcohol",
                 "drink", "coffee", "drive", "pregnant", "breastfeed", "children", "child", "store"),
    "oos_other": ("weather", "rain", "poem", "joke", "song", "haiku", "news", "music", "movie", "capital",
                  "translate", "password", "email", "timer", "car", "stock", "football", "history", "invented",
                  "discovered", "approved", "called", "code", "operation", "hospital", "specialist", "doctor",
                  "appointment", "ambulance", "test", "tests", "lab", "x ray", "half life", "food", "empty stomach"),
}

GROUPS: tuple[str, ...] = tuple(CUES)


def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alts = sorted({re.escape(w) for w in words}, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(alts) + r")\b")


_PATTERNS = [_pattern(CUES[g]) for g in GROUPS]


_OOS = _pattern(tuple(w for g in GROUPS if g.startswith("oos_") for w in CUES[g]))


def oos_cue(text: str) -> bool:
    """Does the (normalised, masked) question carry an out-of-scope cue (dosing, prices, prognosis, spread,
    lifestyle, general knowledge)? The engine abstains on such a question unless its intent is very likely."""
    return bool(_OOS.search(text))


def cue_words() -> set[str]:
    """Every single word used by a cue (added to the question vocabulary)."""
    return {w for words in CUES.values() for cue in words for w in cue.split()}


def cue_features(texts: list[str]) -> np.ndarray:
    """One 0/1 column per cue group: does the (normalised, masked) question contain one of its cues."""
    out = np.zeros((len(texts), len(GROUPS)), dtype=np.float32)
    for i, t in enumerate(texts):
        for j, p in enumerate(_PATTERNS):
            if p.search(t):
                out[i, j] = 1.0
    return out
