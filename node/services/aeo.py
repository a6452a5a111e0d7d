"""This economy's authorised economic operators: kept on chain (AeoRegistry) and listed here.

The on-chain operator id is ``keccak256(utf8(aeo_id))`` (`ledger_client.aeo.operator_id_of`).
"""

from __future__ import annotations

from sqlalchemy import select

from ledger_client.aeo import operator_id_of
from node.db import AeoOperator
from node.runtime import NodeRuntime


def list_operators(runtime: NodeRuntime) -> list[AeoOperator]:
    with runtime.db.sessions() as session:
        return list(session.scalars(select(AeoOperator).order_by(AeoOperator.aeo_id)))


def register(
    runtime: NodeRuntime, aeo_id: str, tier: int, valid_from: int, valid_until: int
) -> AeoOperator:
    operator_id = operator_id_of(aeo_id)
    with runtime.db.sessions() as session:
        existing = session.get(AeoOperator, aeo_id)
    aeo = runtime.ledger.aeo
    if existing is None:
        receipt = aeo.register_operator(operator_id, tier, valid_from, valid_until)
    else:
        receipt = aeo.renew_operator(operator_id, tier, valid_from, valid_until)
    with runtime.db.transaction() as session:
        row = session.get(AeoOperator, aeo_id) or AeoOperator(
            aeo_id=aeo_id, operator_id=operator_id.hex()
        )
        row.tier, row.valid_from, row.valid_until = tier, valid_from, valid_until
        row.status = "active"
        row.tx_hash = bytes(receipt["transactionHash"]).hex()
        session.add(row)
    return row


def change_status(runtime: NodeRuntime, aeo_id: str, action: str) -> AeoOperator | None:
    with runtime.db.sessions() as session:
        existing = session.get(AeoOperator, aeo_id)
    if existing is None:
        return None
    operator_id = operator_id_of(aeo_id)
    aeo = runtime.ledger.aeo
    calls = {
        "suspend": (aeo.suspend_operator, "suspended"),
        "reinstate": (aeo.reinstate_operator, "active"),
        "revoke": (aeo.revoke_operator, "revoked"),
    }
    call, status = calls[action]
    receipt = call(operator_id)
    with runtime.db.transaction() as session:
        row = session.get(AeoOperator, aeo_id)
        assert row is not None
        row.status = status
        row.tx_hash = bytes(receipt["transactionHash"]).hex()
    return row
