"""What every typed contract client shares: the bound contract, an optional
signing sender, and calls whose reverts come back as typed rule errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_abi.grammar import ABIType, BasicType, TupleType
from eth_abi.grammar import parse as parse_abi_type
from eth_typing import ABIFunction
from eth_utils.abi import (
    function_abi_to_4byte_selector,
    get_abi_input_types,
    get_abi_output_types,
)
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import RPCEndpoint, TxReceipt

from ledger_client.chain import TransactionSender, as_chain_error
from ledger_client.errors import ConfigurationError


class ContractClient:
    def __init__(self, contract: Contract, sender: TransactionSender | None = None) -> None:
        self.contract = contract
        self.sender = sender
        self._reads: dict[str, tuple[bytes, list[str], list[str]]] = {}

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

    def _read(self, name: str, *args: Any) -> Any:
        """`_call` of function `name` for the reads made per document, as one raw
        ``eth_call``: encoded and decoded here with eth_abi. web3's `call()` checks the
        whole ABI every time (a keccak of each function's signature) and formats the
        request and answer through its middleware, several milliseconds of CPU that
        made these reads most of a catch-up's fetch work. Outputs as web3 gives them,
        tuples undecoded: one value, or a tuple of several; addresses checksummed as
        web3 does. A revert or error answer is asked again through web3, which raises
        the contract's typed error."""
        try:
            response = self.w3.provider.make_request(
                RPCEndpoint("eth_call"), self._read_params(name, args)
            )
        except Exception as exc:
            raise as_chain_error(exc) from exc
        return self._read_answer(name, args, response)

    def _read_many(self, name: str, args: Sequence[tuple[Any, ...]]) -> list[Any]:
        """`_read` of function `name` once for each argument tuple of `args`, as one
        JSON-RPC batch of ``eth_call`` (one HTTP round trip and one request's client
        CPU instead of one each)."""
        if not args:
            return []
        make_batch = getattr(self.w3.provider, "make_batch_request", None)
        if make_batch is None:  # a provider without batches
            return [self._read(name, *a) for a in args]
        requests = [(RPCEndpoint("eth_call"), self._read_params(name, a)) for a in args]
        try:
            responses = make_batch(requests)
        except Exception as exc:
            raise as_chain_error(exc) from exc
        if not isinstance(responses, list) or len(responses) != len(args):
            return [self._read(name, *a) for a in args]  # a batch refused as a whole
        return [self._read_answer(name, a, r) for a, r in zip(args, responses, strict=True)]

    def _read_params(self, name: str, args: Sequence[Any]) -> list[Any]:
        """The ``eth_call`` parameters of function `name` with `args`, on the latest block."""
        data = "0x" + self._encode(name, args).hex()
        return [{"to": self.contract.address, "data": data}, "latest"]

    def _encode(self, name: str, args: Sequence[Any]) -> bytes:
        """The call data of function `name` with `args`, by eth_abi (see `_read`)."""
        selector, inputs, _ = self._reads.get(name) or self._read_signature(name)
        return selector + abi_encode(inputs, args)

    def _read_answer(self, name: str, args: Sequence[Any], response: Any) -> Any:
        """The decoded answer of a `_read_params` call; a revert, an error or no code is
        asked again through web3, whose call raises the contract's typed error."""
        result = response.get("result")
        if "error" in response or not isinstance(result, str) or len(result) <= 2:
            return self._call(getattr(self.contract.functions, name)(*args))
        _, _, outputs = self._reads.get(name) or self._read_signature(name)
        decoded = abi_decode(outputs, bytes.fromhex(result[2:]))
        values = tuple(_checksummed(k, v) for k, v in zip(outputs, decoded, strict=True))
        return values[0] if len(values) == 1 else values

    def _read_signature(self, name: str) -> tuple[bytes, list[str], list[str]]:
        found = [
            item
            for item in self.contract.abi
            if item.get("type") == "function" and item.get("name") == name
        ]
        if len(found) != 1:
            raise ValueError(f"{name!r} is not exactly one function of this contract's ABI")
        function = cast(ABIFunction, found[0])
        outputs = list(get_abi_output_types(function))
        signature = (
            function_abi_to_4byte_selector(function),
            list(get_abi_input_types(function)),
            outputs,
        )
        self._reads[name] = signature
        return signature


def _checksummed(kind: str, value: Any) -> Any:
    """An eth_abi-decoded output of ABI type `kind` with its addresses checksummed, as
    web3 gives them (containers stay eth_abi's tuples)."""
    return _checksum_in(parse_abi_type(kind), value) if "address" in kind else value


def _checksum_in(kind: ABIType, value: Any) -> Any:
    if kind.is_array:
        return tuple(_checksum_in(kind.item_type, v) for v in value)
    if isinstance(kind, TupleType):
        return tuple(_checksum_in(k, v) for k, v in zip(kind.components, value, strict=True))
    return (
        to_checksum_address(value)
        if isinstance(kind, BasicType) and kind.base == "address"
        else value
    )
