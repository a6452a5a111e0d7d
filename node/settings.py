"""Settings of one customs node, read once from the environment (prefix `CIE_NODE_`).

Everything the node needs to reach the chain, IPFS, its keys and its database
comes from here; code below the entry points receives a `NodeSettings` object
and never reads the environment itself. Tests build `NodeSettings` directly or
override `get_settings`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebhookTarget(BaseModel):
    """An external risk system notified of every document this node assesses."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
    url: str
    secret: Annotated[str, Field(min_length=16, description="shared HMAC-SHA256 key")]


class RiskRules(BaseModel):
    """Configuration of the reference risk engine (`node.risk.reference`)."""

    base_inspection_rate: Annotated[float, Field(ge=0, le=1)] = 0.2
    aeo_inspection_factor: Annotated[float, Field(ge=0, le=1)] = 0.5
    hs_watch_list: Annotated[list[str], Field(description="HS code prefixes")] = Field(
        default_factory=list
    )
    value_deviation_factor: Annotated[float, Field(gt=1)] = 3.0
    value_history_minimum: Annotated[int, Field(ge=1)] = 5
    value_history_window: Annotated[
        int,
        Field(
            ge=1,
            description="unit values compared with: the most recent this many of the same HS "
            "subheading, origin and currency (a rolling median; the lookup stays constant per "
            "document however long the history grows)",
        ),
    ] = 500
    yellow_score: float = 30.0
    red_score: float = 60.0


class NodeSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CIE_NODE_", env_file=".env", extra="ignore", env_nested_delimiter="__"
    )

    economy: Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="this node's economy")] = "KZ"
    rpc_url: Annotated[
        str, Field(description="HTTP(S) JSON-RPC endpoint: reads, logs and transactions")
    ] = "http://127.0.0.1:8545"
    ws_url: Annotated[
        str | None,
        Field(
            description="WebSocket endpoint (ws:// or wss://) announcing new blocks; each head "
            "starts a listener round at once. Unset: the listener only polls."
        ),
    ] = None
    ws_max_backoff: Annotated[
        float, Field(gt=0, description="longest wait between WebSocket reconnection attempts")
    ] = 15.0
    poa: Annotated[bool, Field(description="proof-of-authority extraData middleware (Besu)")] = (
        False
    )
    deployment_file: Path = Path(".devnet/deployment.json")
    keystore_file: Path | None = None
    keystore_password_file: Path | None = None
    encryption_key_file: Path | None = None
    encryption_key_password_file: Path | None = None
    ipfs_api: str = "/ip4/127.0.0.1/tcp/5001/http"
    ipfs_timeout: Annotated[float, Field(gt=0)] = 10.0
    database_url: str = "sqlite:///cie-node.db"
    confirmations: Annotated[int, Field(ge=0)] = 2
    poll_interval: Annotated[float, Field(gt=0)] = 1.0
    chunk_size: Annotated[int, Field(ge=1, description="blocks per eth_getLogs call")] = 2000
    start_block: Annotated[
        int | None, Field(description="first block to scan (default: deployment)")
    ] = None
    max_attempts: Annotated[
        int, Field(ge=1, description="processing attempts before giving up")
    ] = 5
    fetch_workers: Annotated[
        int,
        Field(
            ge=1,
            le=64,
            description="pending versions the listener fetches and verifies at once "
            "(threads; hooks and database writes stay in order on the listener)",
        ),
    ] = 8
    head_poll_interval: Annotated[
        float,
        Field(
            gt=0,
            description="round timer (s) while the WebSocket head subscription is live "
            "(`poll_interval` if that is longer): heads start every round with a registry log "
            "to scan, the timer retries what a round left for later",
        ),
    ] = 2.0
    share_reasons_with: Annotated[
        list[str],
        Field(description="issuer economies that receive the risk reasons (encrypted); '*' = all"),
    ] = Field(default_factory=list)
    webhooks: list[WebhookTarget] = Field(default_factory=list)
    webhook_timeout: Annotated[float, Field(gt=0)] = 5.0
    webhook_max_attempts: Annotated[int, Field(ge=1)] = 6
    webhook_backoff: Annotated[
        float, Field(gt=0, description="first retry delay, doubled each time")
    ] = 0.5
    risk_hooks: Annotated[
        list[str] | None,
        Field(description="entry-point names to run (default: every registered hook)"),
    ] = None
    risk_rules: RiskRules = Field(default_factory=RiskRules)
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8600
    run_listener: Annotated[bool, Field(description="start the listener with the API")] = True
    # Simple exchange mode (node/simple): folders in and out, officers decide.
    simple_mode: Annotated[
        bool, Field(description="exchange through folders under simple_root; manual review")
    ] = False
    simple_root: Annotated[
        Path, Field(description="root of inbox/, done/, rejected/, received/, decisions/")
    ] = Path("cie-exchange")
    simple_max_file_bytes: Annotated[
        int, Field(ge=1024, description="largest file accepted in inbox/")
    ] = 5 * 1024 * 1024
    simple_poll_interval: Annotated[
        float, Field(gt=0, description="seconds between scans of inbox/ and decisions/")
    ] = 1.0

    # Request limits of the API (node/api/limits.py).
    max_request_bytes: Annotated[
        int,
        Field(
            ge=1024,
            description="largest request body the API reads (413 above); endpoints have "
            "smaller limits of their own, the largest being the audit batch upload (64 MiB)",
        ),
    ] = 64 * 1024 * 1024
    submit_rate: Annotated[
        float, Field(gt=0, description="chain-writing requests per second per API key")
    ] = 20.0
    submit_burst: Annotated[
        int, Field(ge=1, description="chain-writing requests an API key may send at once")
    ] = 100

    @field_validator("rpc_url")
    @classmethod
    def _http_rpc(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                "rpc_url must be an http(s):// JSON-RPC URL; put a ws(s):// endpoint in "
                "CIE_NODE_WS_URL (it is used for new-block notifications)"
            )
        return value

    @field_validator("ws_url")
    @classmethod
    def _websocket_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("ws://", "wss://")):
            raise ValueError("ws_url must start with ws:// or wss://")
        return value

    @field_validator("host")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        if value != "127.0.0.1":
            raise ValueError("the node API listens on loopback only (127.0.0.1)")
        return value

    def shares_reasons_with(self, economy: str) -> bool:
        return "*" in self.share_reasons_with or economy in self.share_reasons_with


@cache
def get_settings() -> NodeSettings:
    return NodeSettings()
