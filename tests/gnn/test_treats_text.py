"""The model text of a drug: indication statements and disease names removed, mechanism kept (issue 13)."""

from __future__ import annotations

from gnn.text.nodes import NameMatcher, model_text, model_text_hash, node_text, strip_indications, text_hash

METFORMIN = {
    "id": "DB00331", "name": "Metformin", "synonyms": ["Dimethylbiguanide"],
    "description": "Metformin is a biguanide antihyperglycemic agent. It is used as first-line therapy in the "
                   "management of type 2 diabetes mellitus. Metformin decreases hepatic glucose production and "
                   "improves insulin sensitivity. It is indicated for polycystic ovary syndrome in some "
                   "countries. Unlike sulfonylureas, it rarely causes hypoglycemia in type 2 diabetes mellitus "
                   "patients.",
}
DISEASES = NameMatcher(["type 2 diabetes mellitus", "hypoglycemia", "polycystic ovary syndrome", "AD"])


def test_indication_sentences_and_disease_names_removed_mechanism_kept() -> None:
    full = node_text("Drug", METFORMIN)
    text = model_text("Drug", METFORMIN, DISEASES)
    assert "management of type 2 diabetes" in full and "indicated for" in full
    assert "decreases hepatic glucose production and improves insulin sensitivity" in text
    assert "biguanide antihyperglycemic agent" in text
    assert "management" not in text and "first-line" not in text and "indicated" not in text
    assert "polycystic" not in text.lower()
    # a kept sentence loses its disease-name mention, not the sentence
    assert "hypoglycemia" not in text.lower() and "diabetes" not in text.lower()
    assert "Unlike sulfonylureas, it rarely causes" in text
    assert text.startswith("Metformin. also called Dimethylbiguanide. ")
    assert model_text_hash(text) != text_hash(text)  # separate hashes: a recipe change re-embeds model texts only


def test_other_labels_and_drugs_without_description_keep_their_text() -> None:
    disease = {"id": "DOID:9352", "name": "type 2 diabetes mellitus", "definition": "A diabetes that is treated."}
    assert model_text("Disease", disease, DISEASES) == node_text("Disease", disease)
    bare = {"id": "DB1", "name": "Aspirin"}
    assert model_text("Drug", bare, DISEASES) == node_text("Drug", bare) == "Aspirin"


def test_name_matcher_is_word_aligned_and_skips_short_names() -> None:
    m = NameMatcher(["asthma", "AD", "heart failure"])
    assert m.spans("Asthmatic patients") == []  # not a word match
    assert m.remove("It binds receptors in Heart  Failure and asthma.") == "It binds receptors in and."
    assert "ad" not in m.names  # too short to match safely
    assert m.mentions("acute heart failure", "Heart failure") and not m.mentions("heartfailure", "heart failure")
    assert strip_indications("It treats gout. It inhibits xanthine oxidase.") == "It inhibits xanthine oxidase."
