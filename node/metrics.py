"""Prometheus metrics of the node (served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_SEEN = Counter("cie_node_events_total", "Registry events recorded", ["event"])
DOCUMENTS_PROCESSED = Counter(
    "cie_node_documents_processed_total", "Documents taken to a final state", ["state"]
)
VERIFICATION_FAILURES = Counter(
    "cie_node_verification_failures_total", "Documents that failed verification", ["check"]
)
ACKNOWLEDGEMENTS_SENT = Counter(
    "cie_node_acknowledgements_sent_total", "Acknowledgements sent on chain", ["lane"]
)
REORGS = Counter("cie_node_reorgs_total", "Chain reorganisations detected by the listener")
CURSOR_BLOCK = Gauge("cie_node_cursor_block", "Last block the listener has fully scanned")
PROCESSING_ERRORS = Counter("cie_node_processing_errors_total", "Transient processing errors")
WEBHOOK_DELIVERIES = Counter(
    "cie_node_webhook_deliveries_total", "Webhook delivery attempts", ["target", "outcome"]
)
WEBHOOK_DEAD = Counter("cie_node_webhook_dead_letters_total", "Deliveries moved to dead letter")
CHAIN_HEADS = Counter("cie_node_chain_heads_total", "New-block notifications over WebSocket")
CHAIN_HEADS_SKIPPED = Counter(
    "cie_node_chain_heads_skipped_total",
    "New-block notifications that started no round (no log for this node announced in a "
    "block it confirms)",
)
LISTENER_SCANS = Counter(
    "cie_node_listener_scans_total", "Listener rounds, by what woke them", ["trigger"]
)
HEAD_SUBSCRIPTION_UP = Gauge(
    "cie_node_head_subscription_up", "1 while the WebSocket head subscription is live"
)
PROCESSING_SECONDS = Histogram(
    "cie_node_processing_seconds",
    "Time per listener step: scan (a round's eth_getLogs and recording), fetch_verify "
    "(IPFS fetch, decryption, verification), hooks (risk engine), acknowledge "
    "(reasons sealing and the mined transaction)",
    ["step"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0),
)
