"""This economy's authorised economic operators (registered on chain)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, status

from node.api.deps import AdminDep, ReaderDep, RuntimeDep
from node.api.schemas import AeoIn, AeoOut
from node.services import aeo

router = APIRouter(prefix="/aeo", tags=["aeo"])


@router.get("")
def list_operators(runtime: RuntimeDep, _: ReaderDep) -> list[AeoOut]:
    return [AeoOut.of(row) for row in aeo.list_operators(runtime)]


@router.post("", status_code=status.HTTP_201_CREATED)
def register_operator(runtime: RuntimeDep, _: AdminDep, body: AeoIn) -> AeoOut:
    """Register (or renew) an AEO of this economy; operator id = keccak256(utf8(aeo_id))."""
    if body.aeo_id[:2] != runtime.economy:
        raise HTTPException(
            422,
            detail={
                "field": "aeo_id",
                "rule": "aeo_id.other_economy",
                "message": f"{body.aeo_id} is not an AEO id of {runtime.economy}",
            },
        )
    if body.valid_until <= body.valid_from:
        raise HTTPException(
            422,
            detail={
                "field": "valid_until",
                "rule": "aeo.validity_order",
                "message": "valid_until must be after valid_from",
            },
        )
    return AeoOut.of(
        aeo.register(runtime, body.aeo_id, body.tier, body.valid_from, body.valid_until)
    )


@router.post("/{aeo_id}/{action}")
def change_operator(
    runtime: RuntimeDep,
    _: AdminDep,
    aeo_id: Annotated[str, Path(pattern=r"^[A-Z]{2}[A-Z0-9]{1,33}$")],
    action: Literal["suspend", "reinstate", "revoke"],
) -> AeoOut:
    row = aeo.change_status(runtime, aeo_id, action)
    if row is None:
        raise HTTPException(
            404,
            detail={"field": "aeo_id", "rule": "aeo.unknown", "message": f"no AEO {aeo_id} here"},
        )
    return AeoOut.of(row)
