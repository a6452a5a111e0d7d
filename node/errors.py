"""Exceptions of the node service; one base, each also the builtin it resembles."""

from __future__ import annotations


class NodeError(Exception):
    """Base of every error the node raises on purpose."""


class NodeConfigurationError(NodeError, ValueError):
    """The node's settings or plugins are wrong; the message says what to change."""


class WebhookVerificationError(NodeError, PermissionError):
    """A webhook delivery's signature, timestamp or idempotency key was refused."""


class InjectedFault(NodeError, RuntimeError):
    """Raised at a named fault point by tests (crash simulation)."""
