"""What every typed contract client shares: the bound contract, an optional
signing sender, and calls whose reverts come back as typed rule errors."""

from __future__ import annotations

from typing import Any

from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from ledger_client.chain import TransactionSender, as_chain_error
from ledger_client.errors import ConfigurationError


class ContractClient:
    def __init__(self, contract: Contract, sender: TransactionSender | None = None) -> None:
        self.contract = contract
        self.sender = sender

    @property
    def w3(self) -> Web3:
        return self.contract.w3

    def _send(self) -> TransactionSender:
        if self.sender is None:
            raise ConfigurationError("this client was opened read-only; give it a signing account")
        return self.sender

    def _transact(self, call: ContractFunction, *, gas: int | None = None) -> TxReceipt:
        return self._send().transact(call, gas=gas)

    def _call(self, call: ContractFunction) -> Any:
        """A read-only call; a revert raises the contract's typed rule error."""
        try:
            return call.call()
        except Exception as exc:
            raise as_chain_error(exc) from exc
