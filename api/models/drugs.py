"""Drug search and drug-drug interaction models."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.models.common import Candidate, DrugName, Severity, Suggestion

MAX_DRUGS = 50


class SearchResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"query": "asprin", "candidates": [
        {"id": "DB00945", "name": "Acetylsalicylic acid", "matched_name": "Asprin", "score": 1.0, "method": "alias"},
        {"id": "DB00567", "name": "Cephalexin", "matched_name": "Alsporin", "score": 0.857, "method": "fuzzy"}]}})
    query: str
    candidates: list[Candidate]


class CheckRequest(BaseModel):
    """A medication list: names, synonyms, brand names, DrugBank/DDInter ids, RxNorm product descriptions."""

    model_config = ConfigDict(json_schema_extra={"example": {
        "drugs": ["warfarin", "aspirin", "simvastatin", "clarithromycin", "digoxin", "amiodarone"]}})
    drugs: list[str] = Field(min_length=1, max_length=MAX_DRUGS, description=f"1 to {MAX_DRUGS} entries")
    predictions: bool = Field(True, description="add model predictions (`predicted`) to pairs without a curated "
                                                "grade; false: curated facts only")

    @field_validator("drugs")
    @classmethod
    def _non_blank(cls, value: list[str]) -> list[str]:
        for i, entry in enumerate(value):
            if not entry.strip():
                raise ValueError(f"entry {i} is blank")
            if len(entry) > 300:
                raise ValueError(f"entry {i} is longer than 300 characters")
        return value


class ResolvedDrug(BaseModel):
    id: str
    name: str
    matched_name: str
    method: str
    score: float


class EntryResult(BaseModel):
    """One entry of the list and what it resolved to. Unresolved entries are listed, never dropped."""

    index: int
    input: str
    status: Literal["resolved", "partial", "ambiguous", "unresolved", "not in graph"]
    kind: Literal["drug", "product", "medication"] = "drug"
    drugs: list[ResolvedDrug] = []
    candidates: list[Suggestion] = Field([], description="ambiguous: the drugs the name could mean")
    suggestions: list[Suggestion] = Field([], description="unresolved: ranked typo-tolerant guesses")
    unresolved_parts: list[str] = []


class SourceCoverage(BaseModel):
    source: str
    covered: bool
    note: str


class DrugCoverageOut(BaseModel):
    """Whether each interaction source covers a drug (DDInter lacks ATC groups C, G, J, M, N, S)."""

    id: str
    name: str
    in_ddinter: bool
    ddinter_complete: bool = Field(description="all of the drug's DDInter interactions are in the data")
    ddinter_groups: list[str] = Field(description="DDInter ATC group(s) inferred for the drug (files present)")
    in_drugbank_ddi_86: bool
    sources: list[SourceCoverage]


class Fact(BaseModel):
    """One INTERACTS_WITH relationship (one source, one fact) with its provenance."""

    source: str
    source_name: str
    license: str | None
    source_version: str | None
    subject: str = Field(description="start node id (the mechanism sentence's subject)")
    object: str
    severity: str | None = Field(None, description="DDInter level as stored: Major/Moderate/Minor/Unknown")
    mechanism: str | None = None
    ddi_type: int | None = None


class Mechanism(BaseModel):
    sentence: str
    ddi_type: int | None
    subject: str
    source: str
    license: str | None


class PredictedInteraction(BaseModel):
    """A model's estimate for a pair without a curated grade: never a source's fact."""

    label: Literal["predicted, not from a source"]
    model_run: str = Field(description="the ddi model run that made the prediction")
    severity: Literal["Major", "Moderate", "Minor"] = Field(description="estimated severity")
    severity_probability: float
    major_probability: float = Field(description="p(Major); the answer is Major at or above `major_threshold`")
    major_threshold: float
    interaction_probability: float | None = Field(None, description="not covered pairs: p(the two interact)")
    interaction_estimate: Literal["likely", "unlikely"] | None = None
    type: int | None = Field(None, description="not covered pairs: the likeliest DrugBank interaction type (1-86)")
    type_probability: float | None = None
    sentence: str | None = Field(None, description="that type's sentence with the drugs in their roles")
    subject: str | None = Field(None, description="id of the sentence's subject")
    drivers: list[str] = Field(description="the known facts around the two drugs that drove the estimate")
    note: str


class PairInteraction(BaseModel):
    drug_a: DrugName
    drug_b: DrugName
    severity: Severity
    severity_source: str | None = Field(description="`ddinter` when DDInter graded the pair (or said Unknown)")
    severity_note: str
    mechanisms: list[Mechanism]
    facts: list[Fact]
    coverage: list[SourceCoverage] = Field(description="per source: does it cover this pair")
    entries: list[int] = Field([], description="indexes of the input entries involved")
    predicted: PredictedInteraction | None = Field(None, description="model estimate (not graded pairs only)")


class PairStatus(BaseModel):
    """A pair without any known interaction: covered by a source that lists none, or not covered at all."""

    drug_a: DrugName
    drug_b: DrugName
    status: Literal["no known interaction", "not covered"]
    covered_by: list[str]
    note: str
    coverage: list[SourceCoverage]
    predicted: PredictedInteraction | None = Field(None, description="model estimate (not covered pairs only)")


class CheckWarning(BaseModel):
    kind: Literal["duplicate_ingredient", "unresolved", "ambiguous", "not_in_graph", "not_covered"]
    message: str
    entries: list[int] = []
    drug_id: str | None = None


class CheckSummary(BaseModel):
    entries: int
    resolved_entries: int
    drugs: int
    pairs: int
    interacting_pairs: int
    no_known_interaction_pairs: int
    not_covered_pairs: int
    by_severity: dict[str, int]


class SourceInfo(BaseModel):
    key: str
    name: str
    version: str
    license: str


class PredictionsInfo(BaseModel):
    enabled: bool = Field(description="predictions requested and a trained ddi model loaded")
    model_run: str | None
    label: str
    predicted_pairs: int


class CheckResponse(BaseModel):
    entries: list[EntryResult]
    coverage: list[DrugCoverageOut]
    interactions: list[PairInteraction] = Field(description="interacting pairs, Major first")
    no_interaction: list[PairStatus] = Field(description="every other pair, with which of the two cases it is")
    warnings: list[CheckWarning]
    summary: CheckSummary
    sources: list[SourceInfo]
    predictions: PredictionsInfo | None = None


class DrugInteraction(BaseModel):
    partner: DrugName
    severity: Severity
    severity_source: str | None
    severity_note: str
    mechanisms: list[Mechanism]
    facts: list[Fact]


class DrugInteractionsPage(BaseModel):
    drug: DrugName
    coverage: DrugCoverageOut
    severity: list[Severity] = Field(description="the filter applied (empty: all)")
    total: int = Field(description="interacting partners matching the filter")
    limit: int
    offset: int
    items: list[DrugInteraction]
