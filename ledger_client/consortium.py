"""Typed access to the Consortium contract: members, keys, governance.

Reads need no account; writes go through the member's `TransactionSender`.
Economies are ISO 3166-1 alpha-2 strings here and bytes2 on-chain.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import IntEnum

from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.logs import DISCARD
from web3.types import TxReceipt

from ledger_client.chain import TransactionSender
from ledger_client.contract_client import ContractClient
from ledger_client.records import economy_bytes

#: How old a member's record may be where it is read to seal for its current key
#: (the pipeline's recipients, the listener's reasons): a key rotation, suspension or
#: removal is seen within this many seconds. Every document used to read it afresh,
#: two web3 calls an acknowledgement: a tenth of a low-load node's CPU.
MEMBER_REFRESH_SECONDS = 2.0


class MemberStatus(IntEnum):
    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2
    REMOVED = 3


class ProposalStatus(IntEnum):
    NONE = 0
    PENDING = 1
    EXECUTED = 2
    FAILED = 3
    REJECTED = 4
    EXPIRED = 5


@dataclass(frozen=True)
class MemberInfo:
    economy: str
    status: MemberStatus
    key_version: int
    encryption_key: bytes
    admitted_at: int
    accounts: tuple[str, ...]


@dataclass(frozen=True)
class ProposalInfo:
    proposal_id: int
    kind: int
    status: ProposalStatus
    proposer: str
    target: str
    yes_votes: int
    no_votes: int
    deadline: int


def _economy(raw: bytes) -> str:
    return raw.decode("ascii") if raw != b"\x00\x00" else ""


class ConsortiumClient(ContractClient):
    def __init__(self, contract: Contract, sender: TransactionSender | None = None) -> None:
        super().__init__(contract, sender)
        self._members: dict[str, tuple[MemberInfo, float]] = {}

    # -- reads ------------------------------------------------------------------
    def members(self) -> list[str]:
        return [_economy(e) for e in self._call(self.contract.functions.members())]

    def member(self, economy: str, *, max_age: float = 0.0) -> MemberInfo:
        """The member's record on the latest block; with `max_age`, a record this client
        read at most that many seconds ago may be given instead (shared by every caller
        of this client; a transaction sent through it forgets them all)."""
        now = time.monotonic()
        cached = self._members.get(economy)
        if cached is not None and now - cached[1] < max_age:
            return cached[0]
        status, key_version, key, admitted_at, accounts = self._read(
            "member", economy_bytes(economy)
        )
        info = MemberInfo(
            economy, MemberStatus(status), key_version, bytes(key), admitted_at, tuple(accounts)
        )
        self._members[economy] = (info, now)
        return info

    def member_status(self, economy: str) -> MemberStatus:
        """Status of an economy, NONE if it was never admitted."""
        return MemberStatus(
            self._call(self.contract.functions.memberStatus(economy_bytes(economy)))
        )

    def economy_of(self, account: str) -> str:
        """The active economy an account signs for (raises ConsortiumNotActiveMember)."""
        return _economy(self._call(self.contract.functions.activeEconomyOf(account)))

    def encryption_key(self, economy: str) -> tuple[bytes, int]:
        key, version = self._call(self.contract.functions.encryptionKey(economy_bytes(economy)))
        return bytes(key), int(version)

    def encryption_key_at(self, economy: str, key_version: int) -> bytes:
        return bytes(
            self._call(self.contract.functions.encryptionKeyAt(economy_bytes(economy), key_version))
        )

    def proposal(self, proposal_id: int) -> ProposalInfo:
        p = self._call(self.contract.functions.proposal(proposal_id))
        kind, status, proposer, target, _bps, yes, no, _created, deadline, _key, _accts = p
        return ProposalInfo(
            proposal_id,
            kind,
            ProposalStatus(status),
            _economy(proposer),
            _economy(target),
            yes,
            no,
            deadline,
        )

    def required_votes(self) -> int:
        return int(self._call(self.contract.functions.requiredVotes()))

    # -- governance -------------------------------------------------------------
    def _transact(self, call: ContractFunction, *, gas: int | None = None) -> TxReceipt:
        try:
            return super()._transact(call, gas=gas)
        finally:  # a vote may execute a proposal: any member's record may have changed
            self._members.clear()

    def _proposal_id(self, receipt: TxReceipt) -> int:
        events = self.contract.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
        return int(events[0]["args"]["proposalId"])

    def propose_add_member(self, economy: str, encryption_key: bytes, accounts: list[str]) -> int:
        receipt = self._transact(
            self.contract.functions.proposeAddMember(
                economy_bytes(economy), encryption_key, accounts
            )
        )
        return self._proposal_id(receipt)

    def propose_suspend_member(self, economy: str) -> int:
        return self._proposal_id(
            self._transact(self.contract.functions.proposeSuspendMember(economy_bytes(economy)))
        )

    def propose_reinstate_member(self, economy: str) -> int:
        return self._proposal_id(
            self._transact(self.contract.functions.proposeReinstateMember(economy_bytes(economy)))
        )

    def propose_remove_member(self, economy: str) -> int:
        return self._proposal_id(
            self._transact(self.contract.functions.proposeRemoveMember(economy_bytes(economy)))
        )

    def propose_quorum(self, quorum_bps: int) -> int:
        return self._proposal_id(self._transact(self.contract.functions.proposeQuorum(quorum_bps)))

    def propose_recovery(self, economy: str, encryption_key: bytes, accounts: list[str]) -> int:
        return self._proposal_id(
            self._transact(
                self.contract.functions.proposeRecovery(
                    economy_bytes(economy), encryption_key, accounts
                )
            )
        )

    def vote(self, proposal_id: int, support: bool) -> TxReceipt:
        return self._transact(self.contract.functions.vote(proposal_id, support))

    # -- self-service -----------------------------------------------------------
    def rotate_encryption_key(self, encryption_key: bytes) -> TxReceipt:
        return self._transact(self.contract.functions.rotateEncryptionKey(encryption_key))

    def add_account(self, account: str) -> TxReceipt:
        return self._transact(self.contract.functions.addAccount(account))

    def remove_account(self, account: str) -> TxReceipt:
        return self._transact(self.contract.functions.removeAccount(account))

    def register_authority(self, authority_id: bytes, signer: str) -> TxReceipt:
        return self._transact(self.contract.functions.registerAuthority(authority_id, signer))

    def revoke_authority(self, authority_id: bytes) -> TxReceipt:
        return self._transact(self.contract.functions.revokeAuthority(authority_id))
