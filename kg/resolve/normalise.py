"""Name normalisation shared by every resolver: case, accents, punctuation, spelling, salts.

Keys are compared, never shown: `normalise("Sulphate de Zinc ")` is `"sulfate de zinc"`. Each level
is stricter than the next one the resolvers try, so a looser key is only used when a stricter one fails.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# British -> American spellings seen in drug, disease and symptom names (applied to both sides).
_SPELLING = [
    (re.compile(r"sulph"), "sulf"),
    (re.compile(r"aluminium"), "aluminum"),
    (re.compile(r"caesium"), "cesium"),
    (re.compile(r"oea\b"), "ea"),  # dyspnoea, diarrhoea, gonorrhoea
    (re.compile(r"\boe(?=[sdn])"), "e"),  # oedema, oesophagus, oestradiol, oestrogen
    (re.compile(r"aem"), "em"),  # anaemia, haem-, leukaemia, ischaemic, septicaemia
    (re.compile(r"paed"), "ped"),
    (re.compile(r"anaes"), "anes"),
    (re.compile(r"faec"), "fec"),
    (re.compile(r"tumour"), "tumor"),
    (re.compile(r"amoxycillin"), "amoxicillin"),
]

def word_set(text: str) -> frozenset[str]:
    """The set of space-separated words of `text`."""
    return frozenset(text.split())


# International (INN/BAN) drug names -> the names DrugBank uses, for common ones its aliases lack.
INN_TO_US = {
    "paracetamol": "acetaminophen",
    "pethidine": "meperidine",
    "adrenaline": "epinephrine",
    "noradrenaline": "norepinephrine",
    "lignocaine": "lidocaine",
    "frusemide": "furosemide",
    "glibenclamide": "glyburide",
    "ciclosporin": "cyclosporine",
    "rifampicin": "rifampin",
    "colecalciferol": "cholecalciferol",
    "bendrofluazide": "bendroflumethiazide",
    "thyroxine": "levothyroxine",
    "oxpentifylline": "pentoxifylline",
    "diamorphine": "heroin",
    "ergometrine": "ergonovine",
    "norethisterone": "norethindrone",
    "metamfetamine": "methamphetamine",
    "phenoxymethylpenicillin": "penicillin v",
    "levodopa": "l dopa",
    "ascorbic acid": "vitamin c",
}
_INN = re.compile(r"\b(" + "|".join(INN_TO_US) + r")\b")

# Source-species words ("heparin sodium porcine"): dropped only by the drug resolver's last fallback.
SPECIES_WORDS = word_set(
    "human porcine bovine recombinant"
)

# Salt, hydrate and prodrug-ester words: stripped only by `strip_salts`, the last resort before fuzzy.
SALT_WORDS = word_set(
    "hydrochloride hcl dihydrochloride hydrobromide hydroiodide sodium disodium trisodium potassium dipotassium "
    "calcium magnesium zinc lithium ammonium meglumine sulfate bisulfate sulfite acetate diacetate maleate "
    "succinate tartrate bitartrate mesylate mesilate besylate besilate tosylate citrate fumarate phosphate "
    "diphosphate monophosphate nitrate chloride bromide iodide carbonate bicarbonate gluconate lactate malate "
    "oxalate pamoate stearate hyclate hemihydrate monohydrate dihydrate trihydrate hydrate anhydrous propionate "
    "dipropionate valerate butyrate cypionate enanthate decanoate palmitate benzoate xinafoate trometamol "
    "tromethamine monosodium monopotassium hemisuccinate hemifumarate macrocrystals usp medoxomil axetil pivoxil "
    "proxetil cilexetil etexilate mofetil"
)

# What is left after stripping must not be a bare ion: "Calcium citrate" must not become "calcium".
BARE_IONS = word_set(
    "sodium potassium calcium magnesium zinc ammonium chloride sulfate phosphate carbonate iron ferrous ferric "
    "aluminum acid"
)

_SEMANTIC_TAG = re.compile(
    r"\s*\((disorder|finding|situation|substance|organism|procedure|morphologic abnormality|person|"
    r"qualifier value|observable entity|event|body structure|product|medicinal product)\)\s*$",
    re.IGNORECASE,
)
_PAREN = re.compile(r"\s*[(\[][^()\[\]]*[)\]]")
_NON_WORD = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Unicode NFKD without accents, case-folded, whitespace collapsed: the 'exact' key."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


@lru_cache(maxsize=1 << 16)
def normalise(text: str) -> str:
    """`fold` + punctuation to spaces + British spellings to American: the 'normalised' key (memoised: the API
    normalises the same drug names on every request)."""
    key = _NON_WORD.sub(" ", fold(text)).strip()
    for pattern, repl in _SPELLING:
        key = pattern.sub(repl, key)
    key = _INN.sub(lambda m: INN_TO_US[m.group(1)], key)
    return " ".join(key.split())


def strip_semantic_tag(text: str) -> str:
    """Drop a trailing SNOMED CT semantic tag: 'Acute bronchitis (disorder)' -> 'Acute bronchitis'."""
    previous = None
    while previous != text:
        previous, text = text, _SEMANTIC_TAG.sub("", text)
    return text.strip()


def strip_qualifiers(text: str) -> str:
    """Drop parenthesised or bracketed qualifiers: 'Clindamycin (topical)' -> 'Clindamycin'."""
    return " ".join(_PAREN.sub(" ", text).split())


def compact_key(text: str) -> str:
    """`normalise` without spaces: 'Ethinylestradiol' and 'Ethinyl Estradiol' share it."""
    return normalise(text).replace(" ", "")


def token_key(text: str) -> str:
    """Order-free key: 'Diabetes mellitus type 2' and 'type 2 diabetes mellitus' share it."""
    return " ".join(sorted(normalise(text).split()))


def uninvert(text: str) -> str:
    """MeSH inverted headings: 'Pain, Chest' -> 'Chest Pain' (only for a single comma)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) == 2 and all(parts):
        return f"{parts[1]} {parts[0]}"
    return text


def strip_salts(text: str) -> str | None:
    """Salt/hydrate words removed and '-ate' acid forms unified; None if only a bare ion would be left.

    'Oxycodone Hydrochloride' -> 'oxycodone', 'Clavulanate' -> 'clavulanic', 'Alendronic acid' -> 'alendronic';
    'Calcium citrate' -> None (only a bare ion would remain).
    """
    words = normalise(strip_qualifiers(text)).split()
    kept = [w for w in words if w not in SALT_WORDS]
    if not kept:
        return None
    if len(kept) >= 2 and kept[-1] == "acid" and kept[-2].endswith("ic"):
        kept = kept[:-1]
    elif len(kept) == 1 and kept[0].endswith("ate") and len(kept[0]) > 6:
        kept = [kept[0][:-3] + "ic"]
    if len(kept) == 1 and kept[0] in BARE_IONS:
        return None
    return " ".join(kept)
