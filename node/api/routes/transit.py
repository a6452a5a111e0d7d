"""Transit movements addressed to this economy that are overdue."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import BaseModel

from node.api.deps import InboxReaderDep, RuntimeDep
from node.services.transit import overdue_transits

router = APIRouter(prefix="/transit", tags=["transit"])


class OverdueTransitOut(BaseModel):
    document_id: str
    version: int
    reference: str
    itinerary: list[str]
    arrival_time_limit: datetime
    checkpoints: list[str]


@router.get("/overdue")
def list_overdue(runtime: RuntimeDep, _: InboxReaderDep) -> list[OverdueTransitOut]:
    """Arrival time limit passed, no ARRIVAL checkpoint recorded on chain."""
    return [
        OverdueTransitOut(**vars(item)) for item in overdue_transits(runtime, datetime.now(UTC))
    ]
