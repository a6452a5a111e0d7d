"""One member's view of the deployed contracts: consortium, registry, AEO registry."""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from ledger_client.aeo import AeoClient
from ledger_client.chain import TransactionSender
from ledger_client.consortium import ConsortiumClient
from ledger_client.deployment import Deployment
from ledger_client.registry import RegistryClient


@dataclass
class Ledger:
    w3: Web3
    deployment: Deployment
    consortium: ConsortiumClient
    registry: RegistryClient
    aeo: AeoClient
    sender: TransactionSender | None

    @classmethod
    def open(
        cls, w3: Web3, deployment: Deployment, sender: TransactionSender | None = None
    ) -> Ledger:
        """Bind the deployment's contracts; `sender` signs writes (None = read-only)."""
        return cls(
            w3=w3,
            deployment=deployment,
            consortium=ConsortiumClient(deployment.contract(w3, "Consortium"), sender),
            registry=RegistryClient(
                deployment.contract(w3, "DocumentRegistry"),
                sender,
                from_block=deployment.contracts["DocumentRegistry"].block,
            ),
            aeo=AeoClient(deployment.contract(w3, "AeoRegistry"), sender),
            sender=sender,
        )

    def as_account(self, sender: TransactionSender) -> Ledger:
        """The same deployment, signing as another account."""
        return Ledger.open(self.w3, self.deployment, sender)
