"""devnet/besu/make_genesis.py: the QBFT genesis extraData decodes back to the validators."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rlp

from devnet.besu.make_genesis import decode_qbft_extra_data, main, make_genesis, qbft_extra_data

VALIDATORS = [f"0x{i:02x}" + "ab" * 19 for i in range(1, 5)]

# Besu's documented QBFT genesis example (4 validators), for byte-exact agreement.
BESU_DOC_VALIDATORS = [
    "0x64a702e6263b7297a96638cac6ae65e6541f4169",
    "0x3923390ad55e90c237593b3b0e401f3b08a03185",
    "0xaefdb9a738c9f433e5b6b212a6d62f6370c2f692",
    "0xc7eeb9a4e00ce683cf93039b212648e01c6c6b78",
]
BESU_DOC_EXTRA_DATA = (
    "0xf87aa00000000000000000000000000000000000000000000000000000000000000000f854"
    "9464a702e6263b7297a96638cac6ae65e6541f4169943923390ad55e90c237593b3b0e401f3b08a03185"
    "94aefdb9a738c9f433e5b6b212a6d62f6370c2f69294c7eeb9a4e00ce683cf93039b212648e01c6c6b78"
    "c080c0"
)


def test_extra_data_round_trips() -> None:
    decoded = decode_qbft_extra_data(qbft_extra_data(VALIDATORS))
    assert decoded["vanity"] == b"\x00" * 32
    assert decoded["validators"] == VALIDATORS
    assert decoded["vote"] == [] and decoded["seals"] == [] and decoded["round"] == 0


def test_extra_data_layout_is_a_five_item_list() -> None:
    items = rlp.decode(bytes.fromhex(qbft_extra_data(VALIDATORS)[2:]))
    assert len(items) == 5
    assert all(len(v) == 20 for v in items[1])


def test_matches_besu_documented_example() -> None:
    assert qbft_extra_data(BESU_DOC_VALIDATORS) == BESU_DOC_EXTRA_DATA


@pytest.mark.parametrize("bad", [[], ["0x1234"], [VALIDATORS[0], VALIDATORS[0]]])
def test_rejects_bad_validator_lists(bad: list[str]) -> None:
    with pytest.raises(ValueError):
        qbft_extra_data(bad)


def test_genesis_enables_cancun_zero_base_fee_and_qbft(tmp_path: Path) -> None:
    out = tmp_path / "genesis.json"
    assert main(["--out", str(out), "--chain-id", "133799", *VALIDATORS]) == 0
    genesis = json.loads(out.read_text())
    assert genesis == make_genesis(VALIDATORS, chain_id=133799)
    config = genesis["config"]
    assert config["chainId"] == 133799
    assert config["cancunTime"] == 0 and config["shanghaiTime"] == 0
    assert config["zeroBaseFee"] is True
    assert {"blockperiodseconds", "epochlength", "requesttimeoutseconds"} <= set(config["qbft"])
    assert decode_qbft_extra_data(genesis["extraData"])["validators"] == VALIDATORS
    assert not genesis["alloc"]  # zero gas: nobody needs a balance


def test_committed_generator_config_matches_the_template() -> None:
    here = Path(__file__).resolve().parents[2] / "devnet" / "besu"
    generator = json.loads((here / "qbft-config.json").read_text())
    template = json.loads((here / "genesis.template.json").read_text())
    template.pop("extraData")
    assert generator["genesis"] == template
    assert generator["blockchain"]["nodes"]["count"] == 4
