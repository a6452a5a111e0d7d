"""Indexes for the risk hooks' lookups, which otherwise grow with the history:
value_history (hs_subheading, origin, currency, id) for the newest unit values
(`RiskRules.value_history_window`), processing (issuer, reference) for a linked manifest

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "value_history_recent",
        "value_history",
        ["hs_subheading", "origin", "currency", "id"],
    )
    op.create_index("processing_issuer_reference", "processing", ["issuer", "reference"])


def downgrade() -> None:
    op.drop_index("processing_issuer_reference", table_name="processing")
    op.drop_index("value_history_recent", table_name="value_history")
