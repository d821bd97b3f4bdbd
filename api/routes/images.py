"""Chest X-rays: `POST /patients/{id}/images` (score and attach) and `GET /images/{id}/similar` (nearest cases).
Clinician or admin; every call is audited like every patient access."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.routes.patients import NOT_FOUND, PatientId, _audited
from api.services.images import ImageService
from kg.errors import NotFound

router = APIRouter(tags=["images"])
UNAVAILABLE = {503: {"description": "no usable image model run (message says why: `medkg train images`)"}}
BAD_INPUT = {422: {"description": "empty, corrupt, too large or wrong-type upload (message names the problem)"}}
ImageId = Annotated[str, Path(description="image id", examples=["IMG-0123456789abcdef"])]


class FindingRef(BaseModel):
    id: str = Field(description="Disease id (DOID)")
    name: str | None


class ImageScored(BaseModel):
    image_id: str
    patient_id: str
    probability: float = Field(description="calibrated probability of pneumonia (a prediction) for a population "
                                           "with `normal_share` normal images")
    decision: str = Field(description="'pneumonia' when probability >= threshold, else 'normal' (a prediction)")
    threshold: float
    normal_share: float = Field(description="the target prevalence of normal images the probability refers to")
    model_run: str
    prediction: bool = Field(description="always true: model output, not a sourced fact")
    finding: FindingRef | None = Field(description="the Disease the Image now SHOWS (positive decisions only)")
    pixels_stored: bool = Field(description="whether the 28×28 pixels were kept (MEDKG_IMAGE_STORE_PIXELS)")
    source: dict[str, Any] = Field(description="format, width, height and mode of the upload (no pixels)")


class SimilarImage(BaseModel):
    image_id: str
    score: float = Field(description="Neo4j's vector score (1 + cosine) / 2")
    patient_id: str | None
    probability: float | None
    decision: str | None
    model_run: str | None
    findings: list[dict[str, Any]]


class SimilarImages(BaseModel):
    image_id: str
    k: int
    neighbours: list[SimilarImage]


def _images(request: Request) -> ImageService:
    return request.app.state.images


@router.post("/patients/{patient_id}/images", status_code=201, response_model=ImageScored,
             responses={**NOT_FOUND, **BAD_INPUT, **UNAVAILABLE},
             summary="Add a chest X-ray to a patient: calibrated pneumonia probability and decision",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "image/png": {"schema": {"type": "string", "format": "binary"}},
                 "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                 "application/json": {"schema": {"type": "object", "properties": {"pixels": {
                     "type": "array", "description": "28×28 numbers, 0-255 (or 0-1)",
                     "items": {"type": "array", "items": {"type": "number"}}}}}}}}})
async def add_image(request: Request, patient_id: PatientId) -> dict[str, Any]:
    """The body is the PNG or JPEG file itself (any size, grey or colour; centre-cropped and resized to 28×28
    as the model was trained) or JSON `{"pixels": 28×28}`. The graph gets `(:Patient)-[:HAS_IMAGE]->(:Image)`
    with the embedding and model run, and `(:Image)-[:SHOWS]->(:Disease {id: 'DOID:552'})` when positive, in
    one transaction. Pixels are stored only if MEDKG_IMAGE_STORE_PIXELS is set, and never logged."""
    body = await request.body()
    ctype = request.headers.get("content-type")

    def work() -> dict[str, Any]:
        return _images(request).add(patient_id, body, ctype)

    return await run_in_threadpool(_audited, request, "patient.image.add", patient_id, work, bytes=len(body))


@router.get("/images/{image_id}/similar", response_model=SimilarImages, responses={**NOT_FOUND},
            summary="Nearest stored images (same model run) with their findings: similar-case retrieval")
def similar(request: Request, image_id: ImageId, k: Annotated[int, Query(ge=1, le=50)] = 5) -> dict[str, Any]:
    """From the `image_embedding` vector index (cosine). Audited under the query image's patient, with the
    patients whose images are returned."""
    svc = _images(request)
    owner = svc.owner(image_id)
    if owner is None:
        request.app.state.audit.record(getattr(request.state, "api_key", None), "image.similar", None,
                                       outcome="not_found", image=image_id)
        raise NotFound(f"no image with id {image_id!r}")
    out = _audited(request, "image.similar", owner, lambda: {"image_id": image_id, "k": k,
                                                              "neighbours": svc.similar(image_id, k)},
                   image=image_id, k=k)
    key = getattr(request.state, "api_key", None)
    for pid in sorted({n["patient_id"] for n in out["neighbours"] if n["patient_id"]}):
        # each patient whose image was shown gets its own entry (their export lists it)
        request.app.state.audit.record(key, "image.similar.shown", pid, outcome="ok", image=image_id)
    return out
