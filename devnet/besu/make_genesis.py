"""Write a Besu QBFT genesis.json from the validators' addresses.

Each member generates its validator key on its own host and sends only the
address (`besu --data-path=DATA public-key export-address --to=address.txt`).
The consortium collects them and runs, once, on any machine:

    python -m devnet.besu.make_genesis --out genesis.json \\
        0x<KZ address> 0x<UZ address> 0x<AZ address> 0x<KR address>

QBFT genesis extraData is RLP([32-byte vanity, [validator addresses], [] (no vote),
0 (round), [] (no seals)]); this is what `besu rlp encode --type=QBFT_EXTRA_DATA`
produces from a JSON array of addresses. No private key is read or written here.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import rlp

TEMPLATE = Path(__file__).with_name("genesis.template.json")
_ADDRESS = re.compile(r"^(0x)?[0-9a-fA-F]{40}$")


def _address_bytes(address: str) -> bytes:
    if not _ADDRESS.match(address.strip()):
        raise ValueError(f"not a 20-byte hex address: {address!r}")
    return bytes.fromhex(address.strip().removeprefix("0x"))


def qbft_extra_data(validators: list[str]) -> str:
    """The genesis extraData (0x-hex) naming `validators`, in the given order."""
    if not validators:
        raise ValueError("QBFT needs at least one validator")
    addresses = [_address_bytes(v) for v in validators]
    if len(set(addresses)) != len(addresses):
        raise ValueError("duplicate validator address")
    encoded: bytes = rlp.encode([b"\x00" * 32, addresses, [], b"", []])
    return "0x" + encoded.hex()


def decode_qbft_extra_data(extra_data: str) -> dict[str, Any]:
    """The fields of a QBFT extraData (used by the tests and for checking a genesis)."""
    vanity, validators, vote, round_, seals = rlp.decode(bytes.fromhex(extra_data[2:]))
    return {
        "vanity": vanity,
        "validators": ["0x" + v.hex() for v in validators],
        "vote": vote,
        "round": int.from_bytes(round_, "big"),
        "seals": seals,
    }


def make_genesis(
    validators: list[str], *, chain_id: int | None = None, template: Path = TEMPLATE
) -> dict[str, Any]:
    genesis: dict[str, Any] = json.loads(template.read_text())
    genesis["extraData"] = qbft_extra_data(validators)
    if chain_id is not None:
        genesis["config"]["chainId"] = chain_id
    return genesis


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("validators", nargs="+", help="validator addresses (0x + 40 hex)")
    parser.add_argument("--out", type=Path, default=Path("genesis.json"))
    parser.add_argument("--chain-id", type=int, default=None)
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    args = parser.parse_args(argv)
    try:
        genesis = make_genesis(args.validators, chain_id=args.chain_id, template=args.template)
    except ValueError as exc:
        print(f"make_genesis: {exc}", file=sys.stderr)
        return 2
    args.out.write_text(json.dumps(genesis, indent=2) + "\n")
    print(f"wrote {args.out}: {len(args.validators)} validators, extraData {genesis['extraData']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
