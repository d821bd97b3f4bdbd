"""Resolution rates on the real sources (unique names per source), for the report and the docs.

`python -m kg.resolve.measure --data-dir DIR [--json]` measures every source of the real data.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from kg.cliutil import add_json_flag, emit
from kg.resolve.diseases import DiseaseResolver
from kg.resolve.drugs import DrugResolver, parse_product
from kg.resolve.index import Match
from kg.resolve.report import ResolutionReport, method_rank
from kg.resolve.sources import read_rows, require
from kg.resolve.symptoms import SymptomResolver


def _weakest(matches: list[Match], raw: str) -> Match:
    """A product resolves if every ingredient does; it is as strong as its weakest ingredient."""
    if not matches or not all(m.resolved for m in matches):
        ambiguous = tuple(i for m in matches for i in m.ambiguous)
        return Match(raw, ambiguous=ambiguous)
    return max(matches, key=lambda m: method_rank(m.resolution.method if m.resolution else ""))


def measure(data_dir: Path | str, progress: bool = True) -> ResolutionReport:
    """Build the three resolvers and resolve every source's unique names into one report."""
    data_dir = Path(data_dir)
    log = (lambda msg: print(msg, file=sys.stderr)) if progress else (lambda msg: None)
    log("building resolvers ...")
    drugs = DrugResolver.from_data_dir(data_dir)
    diseases = DiseaseResolver.from_data_dir(data_dir)
    symptoms = SymptomResolver.from_data_dir(data_dir)
    report = ResolutionReport()

    log("ddinter ...")
    names: set[str] = set()
    for path in sorted((data_dir / "ddinter").glob("ddinter_downloads_code_*.csv")):
        for _line, row in read_rows(path, ("Drug_A", "Drug_B")):
            names.update((row["Drug_A"].strip(), row["Drug_B"].strip()))
    for name in sorted(names):
        report.add("ddinter drugs", name, drugs.match(name), drugs.suggest)

    log("synthea ...")
    synthea = data_dir / "synthea-sample"
    descriptions = {row["DESCRIPTION"] for _l, row in read_rows(synthea / "medications.csv", ("DESCRIPTION",))}
    ingredients: dict[str, Match] = {}
    for description in sorted(descriptions):
        matches = drugs.match_product(description)
        report.add("synthea medications", description, _weakest(matches, description))
        for ingredient, found in zip(parse_product(description).ingredients, matches, strict=False):
            ingredients.setdefault(ingredient.casefold(), found)
    for key, found in sorted(ingredients.items()):
        report.add("synthea ingredients", key, found, drugs.suggest)

    conditions = {(row["CODE"], row["DESCRIPTION"]) for _l, row in
                  read_rows(synthea / "conditions.csv", ("CODE", "DESCRIPTION"))}
    for code, description in sorted(conditions):
        found = diseases.match_xref(f"SNOMEDCT:{code}")
        if not found.resolved:
            found = diseases.match(description)
        report.add("synthea conditions -> DOID", description, found, diseases.suggest)

    allergies = {(row["SYSTEM"], row["DESCRIPTION"]) for _l, row in
                 read_rows(synthea / "allergies.csv", ("SYSTEM", "DESCRIPTION"))}
    for system, description in sorted(allergies):
        source = "synthea allergies (RxNorm)" if system == "RxNorm" else "synthea allergies (SNOMED)"
        report.add(source, description, drugs.match(description, fuzzy=False), drugs.suggest)

    log("symptom-disease kb ...")
    kb = data_dir / "symptom-disease-kb" / "columbia-disease-symptom-kb-umls.csv"
    columbia_diseases: set[tuple[str, str]] = set()
    columbia_symptoms: set[tuple[str, str]] = set()
    for _line, row in read_rows(kb, ("disease", "symptom", "disease_umls", "symptom_umls")):
        columbia_diseases.add((row["disease_umls"], row["disease"]))
        columbia_symptoms.add((row["symptom_umls"], row["symptom"]))
    for cui, name in sorted(columbia_diseases):
        found = diseases.match_xref(f"UMLS_CUI:{cui}")
        if not found.resolved:
            found = diseases.match(name)
        report.add("columbia diseases -> DOID", name, found, diseases.suggest)
    for cui, name in sorted(columbia_symptoms):
        report.add("columbia symptoms -> MeSH", name, symptoms.match_umls(cui, name), symptoms.suggest)
    for cui, name in sorted(columbia_symptoms):
        side_effect = symptoms.side_effect(cui)
        report.record("columbia symptoms -> SideEffect", name, "id" if side_effect else None)

    hsdn = data_dir / "symptom-disease-kb" / "hsdn-symptoms-DO.tsv"
    hsdn_rows = list(read_rows(hsdn, ("symptom_id", "doid_code"), delimiter="\t"))
    for mesh_id in sorted({row["symptom_id"] for _l, row in hsdn_rows}):
        report.add("hsdn symptoms (MeSH id)", mesh_id, symptoms.match(mesh_id))
    for doid in sorted({row["doid_code"] for _l, row in hsdn_rows}):
        report.add("hsdn diseases (DOID)", doid, diseases.match(doid))

    log("ddxplus ...")
    conditions_json = json.loads(require(data_dir / "ddxplus" / "release_conditions.json").read_text())
    for key, condition in sorted(conditions_json.items()):
        found = diseases.match_pathology(condition.get("cond-name-eng") or key, condition.get("icd10-id"))
        report.add("ddxplus pathologies -> DOID", key, found, diseases.suggest)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kg.resolve.measure",
                                     description="Measure identity resolution rates on every source.")
    parser.add_argument("--data-dir", type=Path, help="source data (default: MEDKG_DATA_DIR)")
    parser.add_argument("--examples", type=int, default=8, help="unresolved names to show per source")
    add_json_flag(parser)
    args = parser.parse_args(argv)
    from kg.settings import get_settings

    report = measure(args.data_dir or get_settings().medkg_data_dir)

    def human(_: object) -> str:
        lines = [report.summary(), ""]
        for source, stats in report.sources.items():
            shown = list(stats.unresolved.items())[: args.examples]
            if shown:
                lines.append(f"{source}: unresolved e.g. " + "; ".join(
                    f"{raw} (→ {sug[0]['name']} {sug[0]['score']})" if sug else raw for raw, sug in shown))
        return "\n".join(lines)

    emit(report.to_dict(), args.json, human)
    return 0


if __name__ == "__main__":
    sys.exit(main())
