"""Prometheus metrics of the node (served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

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
LISTENER_SCANS = Counter(
    "cie_node_listener_scans_total", "Listener rounds, by what woke them", ["trigger"]
)
HEAD_SUBSCRIPTION_UP = Gauge(
    "cie_node_head_subscription_up", "1 while the WebSocket head subscription is live"
)
