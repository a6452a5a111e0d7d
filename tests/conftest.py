"""Shared fixtures: a real anvil chain on loopback, funded throw-away accounts.

Keys made here are TEST FIXTURES: random, generated per run, funded only on the
test chain, and never written outside pytest's temporary directories.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, settings
from web3 import Web3

from devnet.anvil import AnvilChain
from devnet.processes import free_port
from ledger_client.chain import TransactionSender, connect

settings.register_profile(
    "dev", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="session")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilChain]:
    chain = AnvilChain(port=free_port(), log_file=tmp_path_factory.mktemp("anvil") / "anvil.log")
    chain.start()
    yield chain
    chain.stop()


@pytest.fixture(scope="session")
def w3(anvil: AnvilChain) -> Web3:
    return connect(anvil.rpc_url)


@pytest.fixture
def fund(w3: Web3):  # type: ignore[no-untyped-def]
    """Fund an address from anvil's unlocked dev account (standard eth_sendTransaction)."""
    faucet = w3.eth.accounts[0]

    def _fund(address: str, wei: int = 10**21) -> None:
        tx = w3.eth.send_transaction({"from": faucet, "to": address, "value": wei})
        w3.eth.wait_for_transaction_receipt(tx, poll_latency=0.05)

    return _fund


@pytest.fixture
def new_account(fund) -> LocalAccount:  # type: ignore[no-untyped-def]
    """A fresh funded account (test fixture key)."""
    account: LocalAccount = Account.create()
    fund(account.address)
    return account


@pytest.fixture
def sender(w3: Web3, new_account: LocalAccount) -> TransactionSender:
    return TransactionSender(w3, new_account)
