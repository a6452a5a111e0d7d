"""Client settings, read once from the environment (prefix `CIE_`) or a .env file.

Code below the entry points receives settings objects; it never reads the
environment itself. Tests override `get_settings` or build `ClientSettings`
directly.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ClientSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CIE_", env_file=".env", extra="ignore")

    rpc_url: str = Field("http://127.0.0.1:8545", description="Ethereum JSON-RPC endpoint")
    poa: bool = Field(False, description="add the proof-of-authority extraData middleware (Besu)")
    deployment_file: Path = Field(Path(".devnet/deployment.json"))
    keystore_file: Path | None = Field(None, description="encrypted keystore of the node account")
    keystore_password_file: Path | None = None
    ipfs_api: str = Field("/ip4/127.0.0.1/tcp/5001/http", description="Kubo RPC API multiaddr")
    confirmations: int = Field(1, ge=0, description="blocks to wait before acting on an event")


@cache
def get_settings() -> ClientSettings:
    return ClientSettings()  # type: ignore[call-arg]  # values come from the environment
