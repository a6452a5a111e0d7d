"""Deploying the contracts and the deployment file the rest of the system reads.

The deployment file records the chain id, each contract's address, the block it
was deployed in and the hash of the ABI it was deployed with. Loading it checks
that the packaged ABIs still match and that the chain is the one deployed to,
so a node never talks to the wrong contracts silently.

Besides the three shared contracts, each member economy has its own
OpenAttestation DocumentStore facade (`OaDocumentStore`, read-only over the
registry): `deploy_all` deploys one per founding member, a member admitted
later deploys its own with `deploy_oa_document_store` and records it with
`Deployment.with_oa_document_store`. They are listed under
``oaDocumentStores`` (economy -> contract) in the file.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.contract import Contract

from ledger_client.chain import TransactionSender
from ledger_client.compiler import CONTRACT_NAMES, load_artifact
from ledger_client.errors import ConfigurationError, TransactionFailedError

DEPLOYMENT_FORMAT = "cie-deployment/1"
OA_STORE_CONTRACT = "OaDocumentStore"


@dataclass(frozen=True)
class FoundingMember:
    """A member bootstrapped at deployment: economy, X25519 key, node accounts."""

    economy: str
    encryption_key: bytes
    accounts: tuple[str, ...]


@dataclass(frozen=True)
class DeployedContract:
    address: str
    block: int
    abi_hash: str


def _contract_json(c: DeployedContract) -> dict[str, Any]:
    return {"address": c.address, "block": c.block, "abiSha256": c.abi_hash}


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    contracts: dict[str, DeployedContract]
    #: economy -> its OpenAttestation DocumentStore facade (OaDocumentStore).
    oa_document_stores: dict[str, DeployedContract] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": DEPLOYMENT_FORMAT,
            "chainId": self.chain_id,
            "contracts": {name: _contract_json(c) for name, c in self.contracts.items()},
        }
        if self.oa_document_stores:
            data["oaDocumentStores"] = {
                economy: _contract_json(c) for economy, c in sorted(self.oa_document_stores.items())
            }
        return data

    def with_oa_document_store(self, economy: str, store: DeployedContract) -> Deployment:
        """A copy that records `store` as `economy`'s OA DocumentStore facade."""
        economy_code(economy)
        return dataclasses.replace(
            self, oa_document_stores={**self.oa_document_stores, economy: store}
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        os.replace(tmp, path)  # atomic: readers never see half a file

    @classmethod
    def load(cls, path: Path) -> Deployment:
        try:
            data = json.loads(path.read_text())
        except OSError as exc:
            raise ConfigurationError(
                f"deployment file {path} cannot be read ({exc.strerror}); deploy first "
                "(`cie devnet up` or `cie deploy`)"
            ) from None
        except ValueError:
            raise ConfigurationError(f"deployment file {path} is not valid JSON") from None
        if data.get("format") != DEPLOYMENT_FORMAT:
            raise ConfigurationError(
                f"deployment file {path} has format {data.get('format')!r}, "
                f"expected {DEPLOYMENT_FORMAT!r}"
            )
        contracts = {
            name: DeployedContract(c["address"], int(c["block"]), c["abiSha256"])
            for name, c in data["contracts"].items()
        }
        stores = {
            economy: DeployedContract(c["address"], int(c["block"]), c["abiSha256"])
            for economy, c in data.get("oaDocumentStores", {}).items()
        }
        deployment = cls(
            chain_id=int(data["chainId"]), contracts=contracts, oa_document_stores=stores
        )
        for name in CONTRACT_NAMES:
            if name not in contracts:
                raise ConfigurationError(f"deployment file {path} lacks contract {name}")
            _check_abi(name, contracts[name])
        for store in stores.values():
            _check_abi(OA_STORE_CONTRACT, store)
        return deployment

    def oa_document_store(self, w3: Web3, economy: str) -> Contract:
        """`economy`'s OA DocumentStore facade (checks the chain id)."""
        store = self.oa_document_stores.get(economy)
        if store is None:
            raise ConfigurationError(
                f"the deployment records no OpenAttestation DocumentStore for {economy}; "
                "deploy one with `ledger_client.deployment.deploy_oa_document_store`"
            )
        return self._bind(w3, store.address, OA_STORE_CONTRACT)

    def contract(self, w3: Web3, name: str) -> Contract:
        """A web3 contract object for a deployed contract (checks the chain id)."""
        return self._bind(w3, self.contracts[name].address, name)

    def _bind(self, w3: Web3, address: str, artifact: str) -> Contract:
        chain_id = w3.eth.chain_id
        if chain_id != self.chain_id:
            raise ConfigurationError(
                f"connected to chain {chain_id} but the deployment is on chain {self.chain_id}"
            )
        return w3.eth.contract(
            address=Web3.to_checksum_address(address), abi=load_artifact(artifact).abi
        )


def _check_abi(name: str, deployed: DeployedContract) -> None:
    packaged = load_artifact(name).abi_hash
    if deployed.abi_hash != packaged:
        raise ConfigurationError(
            f"{name} at {deployed.address} was deployed with another ABI "
            f"({deployed.abi_hash[:12]}) than this client ships "
            f"({packaged[:12]}); upgrade the client or redeploy"
        )


def deploy_contract(sender: TransactionSender, name: str, *args: object) -> DeployedContract:
    """Deploy one packaged artifact with constructor arguments."""
    artifact = load_artifact(name)
    factory = sender.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = sender.transact(factory.constructor(*args))
    address = receipt.get("contractAddress")
    if address is None:
        raise TransactionFailedError(f"deploying {name} produced no contract address")
    return DeployedContract(str(address), int(receipt["blockNumber"]), artifact.abi_hash)


def deploy_all(
    sender: TransactionSender,
    founding_members: Sequence[FoundingMember],
    *,
    quorum_bps: int = 6667,
    voting_period: int = 7 * 24 * 3600,
) -> Deployment:
    """Deploy and wire Consortium, DocumentRegistry and AeoRegistry, plus one
    OpenAttestation DocumentStore facade per founding member.

    The deploying account gets no role: after the constructor the consortium
    governs itself through member proposals (the facades have no admin at all).
    """
    if not founding_members:
        raise ConfigurationError("a consortium needs at least one founding member")
    consortium = deploy_contract(
        sender,
        "Consortium",
        *consortium_constructor_args(founding_members, quorum_bps, voting_period),
    )
    registry = deploy_contract(sender, "DocumentRegistry", consortium.address)
    aeo = deploy_contract(sender, "AeoRegistry", consortium.address)
    deployment = Deployment(
        chain_id=sender.chain_id,
        contracts={"Consortium": consortium, "DocumentRegistry": registry, "AeoRegistry": aeo},
    )
    for member in founding_members:
        deployment = deployment.with_oa_document_store(
            member.economy, deploy_oa_document_store(sender, deployment, member.economy)
        )
    return deployment


def deploy_oa_document_store(
    sender: TransactionSender, deployment: Deployment, economy: str
) -> DeployedContract:
    """Deploy `economy`'s OpenAttestation DocumentStore facade over the deployment's registry.

    Anyone may deploy one (it only reads the registry); the economy publishes its
    address in its DNS-TXT identity record and names it as ``documentStore`` in
    its OA documents. Record it with `Deployment.with_oa_document_store`.
    """
    registry = deployment.contracts["DocumentRegistry"].address
    return deploy_contract(sender, OA_STORE_CONTRACT, registry, economy_code(economy))


def economy_code(economy: str) -> bytes:
    """ISO 3166-1 alpha-2 economy code as the contracts' bytes2."""
    if len(economy) != 2 or not economy.isascii() or not economy.isupper():
        raise ConfigurationError(
            f"economy {economy!r} is not an ISO 3166-1 alpha-2 code (two capital letters)"
        )
    return economy.encode()


def consortium_constructor_args(
    founding_members: Sequence[FoundingMember], quorum_bps: int, voting_period: int
) -> list[object]:
    """Arguments of `Consortium(FoundingMember[], uint16 quorumBps, uint64 votingPeriod)`."""
    founders = []
    for member in founding_members:
        if len(member.encryption_key) != 32:
            raise ConfigurationError(
                f"member {member.economy}: the X25519 encryption key must be 32 raw bytes"
            )
        founders.append(
            (economy_code(member.economy), member.encryption_key, list(member.accounts))
        )
    return [founders, quorum_bps, voting_period]
