"""Permissioned networks with free gas (Besu `min-gas-price=0`): the client sends
legacy transactions at gas price 0 and unfunded member accounts can transact."""

from __future__ import annotations

import os
from pathlib import Path

from eth_account import Account

from devnet.anvil import AnvilChain
from devnet.processes import free_port
from ledger_client.chain import TransactionSender, connect
from ledger_client.deployment import FoundingMember, deploy_all
from ledger_client.ledger import Ledger
from ledger_client.records import DocType, Record


def test_zero_gas_price_network_needs_no_funds(tmp_path: Path) -> None:
    chain = AnvilChain(
        port=free_port(),
        log_file=tmp_path / "anvil.log",
        extra_args=["--gas-price", "0", "--base-fee", "0", "--disable-min-priority-fee"],
    )
    chain.start()
    try:
        w3 = connect(chain.rpc_url, poa=True)  # the PoA middleware must be harmless too
        assert w3.eth.gas_price == 0
        deployer, member = Account.create(), Account.create()  # never funded
        deployment = deploy_all(
            TransactionSender(w3, deployer),
            [FoundingMember("KZ", os.urandom(32), (member.address,))],
        )
        sender = TransactionSender(w3, member)
        ledger = Ledger.open(w3, deployment, sender)
        receipt = ledger.registry.anchor(
            1, Record(DocType.PRE_ARRIVAL_MANIFEST, os.urandom(32), os.urandom(32), ("UZ",))
        )
        tx = w3.eth.get_transaction(receipt.tx_hash)
        assert tx["gasPrice"] == 0 and tx["type"] == 0
        assert w3.eth.get_balance(member.address) == 0
    finally:
        chain.stop()
