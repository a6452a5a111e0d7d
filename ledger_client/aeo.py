"""Typed access to the AeoRegistry contract: operators, MRAs, programmes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from eth_utils.crypto import keccak
from web3.types import TxReceipt

from ledger_client.contract_client import ContractClient
from ledger_client.records import economy_bytes


def operator_id_of(aeo_id: str) -> bytes:
    """The AeoRegistry operator id of an AEO identifier: keccak256 of its UTF-8 bytes.

    The one place this rule lives: the node's risk engine and AEO service and
    the auditor's analytics all key operators by it.
    """
    return keccak(aeo_id.encode("utf-8"))


class OperatorStatus(IntEnum):
    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2
    REVOKED = 3


class RecognitionBasis(IntEnum):
    NONE = 0
    OWN_PROGRAMME = 1
    MRA = 2
    MULTILATERAL_PROGRAMME = 3


@dataclass(frozen=True)
class Recognition:
    recognized: bool
    basis: RecognitionBasis


class AeoClient(ContractClient):
    def register_operator(
        self, operator_id: bytes, tier: int, valid_from: int, valid_until: int
    ) -> TxReceipt:
        return self._transact(
            self.contract.functions.registerOperator(operator_id, tier, valid_from, valid_until)
        )

    def renew_operator(
        self, operator_id: bytes, tier: int, valid_from: int, valid_until: int
    ) -> TxReceipt:
        return self._transact(
            self.contract.functions.renewOperator(operator_id, tier, valid_from, valid_until)
        )

    def suspend_operator(self, operator_id: bytes) -> TxReceipt:
        return self._transact(self.contract.functions.suspendOperator(operator_id))

    def reinstate_operator(self, operator_id: bytes) -> TxReceipt:
        return self._transact(self.contract.functions.reinstateOperator(operator_id))

    def revoke_operator(self, operator_id: bytes) -> TxReceipt:
        return self._transact(self.contract.functions.revokeOperator(operator_id))

    def approve_mra(self, partner: str) -> TxReceipt:
        return self._transact(self.contract.functions.approveMra(economy_bytes(partner)))

    def terminate_mra(self, partner: str) -> TxReceipt:
        return self._transact(self.contract.functions.terminateMra(economy_bytes(partner)))

    def create_programme(self, programme_id: bytes) -> TxReceipt:
        return self._transact(self.contract.functions.createProgramme(programme_id))

    def join_programme(self, programme_id: bytes) -> TxReceipt:
        return self._transact(self.contract.functions.joinProgramme(programme_id))

    def leave_programme(self, programme_id: bytes) -> TxReceipt:
        return self._transact(self.contract.functions.leaveProgramme(programme_id))

    def operator_status(self, economy: str, operator_id: bytes) -> OperatorStatus:
        info = self._call(self.contract.functions.operator(economy_bytes(economy), operator_id))
        return OperatorStatus(info[0])

    def recognition(
        self, operator_economy: str, operator_id: bytes, importing_economy: str
    ) -> Recognition:
        """Is the operator recognized by the importing economy right now, and why?"""
        recognized, basis = self._read(
            "recognition",
            economy_bytes(operator_economy),
            operator_id,
            economy_bytes(importing_economy),
        )
        return Recognition(bool(recognized), RecognitionBasis(basis))

    def is_mra_effective(self, a: str, b: str) -> bool:
        return bool(
            self.contract.functions.isMraEffective(economy_bytes(a), economy_bytes(b)).call()
        )
