"""QA: the family contract on a graph-free question set; linker, masking, baseline rules and the CSV batch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gnn.pipeline.registry import get_family
from gnn.qa.batch import answer_file
from gnn.qa.catalogue import INTENTS, browser_text
from gnn.qa.engine import QAEngine
from gnn.qa.evaluate import KeywordClassifier, set_f1
from gnn.qa.family import tiny_fixture
from gnn.qa.linker import Gazetteer, choose, mask, normalise, singular
from kg.errors import InvalidInput
from tests.gnn.family_contract import check_family


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    rows = tiny_fixture()["rows"] + [
        {"label": "Disease", "id": "DOID:1", "name": "x disease", "synonyms": ["shared name"], "degree": 5},
        {"label": "Disease", "id": "DOID:2", "name": "y disease", "synonyms": ["shared name"], "degree": 6}]
    return Gazetteer(rows)


@pytest.mark.slow
def test_qa_family_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check_family(get_family("qa"), tmp_path, monkeypatch)


def test_brand_synonym_and_lay_term_link(gaz: Gazetteer) -> None:
    _, ms = gaz.scan("What are the side effects of Coumadin?")
    assert [(m.text, m.entries[0].id, m.entries[0].kind) for m in ms] == [("coumadin", "DB00682", "brand")]
    _, ms = gaz.scan("drugs for a heart attack")
    assert [m.entries[0].id for m in ms] == ["DOID:5844"]
    _, ms = gaz.scan("Is aspirin OK with warfarin?")
    assert [m.entries[0].id for m in ms] == ["DB00945", "DB00682"]


def test_plural_and_typo(gaz: Gazetteer) -> None:
    _, ms = gaz.scan("which diseases present with headaches and fevers")
    assert [(m.entries[0].id, m.variant) for m in ms] == [("D006261", "singular"), ("D005334", "singular")]
    best = gaz.fuzzy("warfrin", "Drug")
    assert best and best[0][0].id == "DB00682" and 0.85 < best[0][1] < 1.0
    assert gaz.fuzzy("zorblaxin", "Drug") == []


def test_ambiguous_name_has_no_winner(gaz: Gazetteer) -> None:
    entries, _ = gaz.lookup("shared name")
    best, cands = choose(entries, "Disease")
    assert best is None and {c.id for c in cands} == {"DOID:1", "DOID:2"}
    best, _ = choose(gaz.lookup("warfarin")[0], "Drug")
    assert best is not None and best.id == "DB00682"


def test_mask_and_normalise(gaz: Gazetteer) -> None:
    tokens, ms = gaz.scan("Do Warfarin and aspirin interact with zorblaxin?")
    text, counts = mask(tokens, ms)
    assert text == "do drugx and drugx interact with unknownx" and counts["drugx"] == 2
    assert normalise("Alzheimer's disease, COVID-19") == "alzheimers disease covid 19"
    assert singular("allergies") == "allergy" and singular("diabetes mellitus") == "diabetes mellitus"


def test_typo_of_any_label_is_typed_before_classification(gaz: Gazetteer) -> None:
    from gnn.qa.linker import question_vocabulary

    tokens, ms = gaz.scan("Which drugs are known to induce nauseea?")
    ms = gaz.typo_mentions(tokens, ms, question_vocabulary())
    assert [(m.text, m.entries[0].id, m.variant) for m in ms] == [("nauseea", "C0027497", "fuzzy")]
    assert 0.8 < ms[0].score < 1.0
    assert mask(tokens, ms)[0] == "which drugs are known to induce findingx"
    tokens, ms = gaz.scan("side effects of zorblaxin")
    assert gaz.typo_mentions(tokens, ms, question_vocabulary()) == []


def test_keyword_baseline_rules() -> None:
    kw = KeywordClassifier()
    p = kw.proba(["what are the side effects of drugx", "do drugx and drugx interact", "weather in paris"],
                 [{}, {}, {}])
    assert [kw.classes[i] for i in p.argmax(axis=1)] == ["side_effects", "interaction_check", "out_of_scope"]


def test_catalogue_is_parameterised() -> None:
    for intent in INTENTS.values():
        if intent.name == "explain":
            continue
        assert "$limit" in intent.cypher and all(f"${s.name}" in intent.cypher for s in intent.slots), intent.name
    text = browser_text("MATCH (x {id: $drug}) RETURN x", {"drug": "DB00682", "limit": 500})
    assert text.splitlines()[:2] == [':param drug => "DB00682";', ":param limit => 500;"]
    assert set_f1({"a", "b"}, {"b", "c"}) == pytest.approx(0.5) and set_f1(set(), set()) == 1.0


def test_csv_batch_reports_malformed_row_and_answers_the_rest(tmp_path: Path) -> None:
    inp, out = tmp_path / "q.csv", tmp_path / "a.jsonl"
    inp.write_text('id,question\n1,side effects of warfarin\n2,"too","many"\n3,\n4,do aspirin and warfarin interact\n')

    def ask(q: str) -> dict:
        return {"question": q, "abstained": False, "reason": None, "interpretation": {"intent": "x", "entities": []},
                "answers": [{"id": "A", "name": "a", "label": "Drug", "facts": [{"sources": ["s"]}]}],
                "summary": "s", "cypher": {"query": "q", "params": {}}}

    summary = answer_file(ask, inp, out)
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["id"] for x in lines] == ["1", "2", "3", "4"]
    assert summary["malformed"] == 2 and summary["answered"] == 2
    assert "q.csv:3: expected 2 fields" in lines[1]["error"]
    assert "q.csv:4: field 'question' is empty" in lines[2]["error"]
    assert lines[0]["answers"] == [{"id": "A", "name": "a", "label": "Drug"}] and lines[0]["evidence"][0]["facts"]
    bad = tmp_path / "bad.csv"
    bad.write_text("question,id\nx,1\n")
    with pytest.raises(InvalidInput, match=r"bad\.csv:1: the header must be 'id,question'"):
        answer_file(ask, bad, out)


def test_cue_lexicon_groups_unseen_synonyms() -> None:
    from gnn.qa.cues import GROUPS, cue_features
    from gnn.qa.linker import question_vocabulary

    texts = ["diseasex lookalikes", "diseases resembling diseasex", "what does drugx interact with",
             "i take drugx what should i avoid combining it with", "is diseasex contagious",
             "possible unreported side effects of drugx", "which drugs list findingx as an adverse effect"]
    f = cue_features(texts)
    fired = [{GROUPS[j] for j in range(len(GROUPS)) if row[j]} for row in f]
    assert "resemble" in fired[0] and "resemble" in fired[1]
    assert "interact" in fired[2] and "target" not in fired[2] and "interact" in fired[3]
    assert fired[4] == {"oos_spread"}
    assert {"predict", "adverse"} <= fired[5] and {"adverse"} <= fired[6] and "palliate" not in fired[6]
    # a cue word is a question word: never read as an unknown name or a typo
    assert {"lookalikes", "contagious", "unreported", "combining"} <= question_vocabulary()
    # a cue inside an entity name does not count: names are masked first
    assert not cue_features(["drugx"]).any()


def test_mask_counts_every_label_a_mention_could_have() -> None:
    rows = [{"label": "Disease", "id": "DOID:1", "name": "plasmacytoma", "degree": 3},
            {"label": "SideEffect", "id": "C1", "name": "Plasmacytoma", "degree": 3}]
    g = Gazetteer(rows)
    tokens, ms = g.scan("Which drugs list Plasmacytoma as an adverse effect? zorblaxin")
    text, counts = mask(tokens, ms)
    assert text == "which drugs list diseasex as an adverse effect unknownx"
    assert (counts["diseasex"], counts["can_disease"], counts["can_side_effect"], counts["unknownx"]) == (1, 1, 1, 1)


def _engine(gaz: Gazetteer) -> QAEngine:
    return QAEngine(gaz, KeywordClassifier(), lambda q, p: [], fuzzy=False)


def test_compatible_intent_is_the_best_one_the_entities_can_fill(gaz: Gazetteer) -> None:
    eng = _engine(gaz)

    def pick(question: str, ranked: list[tuple[str, float]]) -> str:
        tokens, ms = gaz.scan(question)
        return eng._compatible(ranked, tokens, ms)[0]

    # only a side effect named: palliates/treats (a disease) cannot win, however far down drugs_causing ranks
    ranked = [("palliates", 0.5), ("treats", 0.3), ("symptoms", 0.1), ("genes", 0.05), ("drugs_causing", 0.02)]
    assert pick("Which drugs list nausea as an adverse effect?", ranked) == "drugs_causing"
    # an unknown name may be the missing drug: explain keeps the question (then abstains: unknown entity)
    ranked = [("explain", 0.5), ("localizes", 0.4)]
    assert pick("What is the rationale for zorblaxin in heart attack?", ranked) == "explain"
    assert pick("What is the rationale for in heart attack?", ranked) == "localizes"
    # out of scope ranked before every fillable intent wins
    assert pick("is heart attack contagious", [("targets", 0.5), ("out_of_scope", 0.3), ("localizes", 0.2)]) \
        == "out_of_scope"
    # one drug and an unknown name: still a (failing) interaction check, not the interactions of the one drug
    assert pick("safe to mix zorblaxin and warfarin?", [("interaction_check", 0.9)]) == "interaction_check"
    assert pick("warfarin interaction check please", [("interaction_check", 0.9)]) == "interactions"


def test_out_of_scope_cue_abstains_below_its_threshold(gaz: Gazetteer) -> None:
    """A question with an out-of-scope cue (dosing, children, prices ...) abstains unless its intent's probability
    reaches the cue threshold (a setting chosen on validation); without a cue the same intent answers."""
    from gnn.qa.cues import oos_cue

    assert oos_cue("side effects of drug in children") and oos_cue("how much does drug cost")
    assert not oos_cue("side effects of drug") and not oos_cue("drugs that treat disease")
    clf = KeywordClassifier()
    eng = QAEngine(gaz, clf, lambda q, p: [], fuzzy=False)
    plain, cued = eng.ask("side effects of warfarin"), eng.ask("side effects of warfarin in children")
    assert plain["interpretation"]["oos_cue"] is False and cued["interpretation"]["oos_cue"] is True
    assert cued["interpretation"]["intent"] == plain["interpretation"]["intent"] == "side_effects"
    assert not cued["abstained"]  # the default cue threshold 0 never abstains
    clf.oos_cue_threshold = 1.01
    again = eng.ask("side effects of warfarin in children")
    assert again["abstained"] and again["reason"] == "out_of_scope" and again["interpretation"]["oos_cue"]
    assert not eng.ask("side effects of warfarin")["abstained"]  # no cue: the threshold does not apply


def test_a_cut_prediction_block_says_more_than_its_count() -> None:
    from gnn.qa.engine import QAEngine

    items = [{"name": f"Effect {i}", "probability": 0.9} for i in range(50)]
    pred = {"items": items, "count": 50, "truncated": True, "model_runs": ["se-run"]}
    text = QAEngine._no_profile_summary("Warfarin", pred)
    assert "the side-effect model (se-run) predicts more than 50, listed apart" in text
    assert "predicts 50," in QAEngine._no_profile_summary("Warfarin", {**pred, "truncated": False})
