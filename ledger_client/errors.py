"""Exceptions of the ledger client.

One base, `LedgerClientError`; each specific error also inherits the builtin it
resembles (ValueError for bad input, ConnectionError for an unreachable part,
PermissionError for a rule the chain enforced), so callers can catch either.
Messages say what was wrong and what to do about it.
"""

from __future__ import annotations


class LedgerClientError(Exception):
    """Base of every error raised by ledger_client.

    Picklable whatever a subclass's ``__init__`` takes (an error raised in a worker
    process reaches the caller as itself): rebuilt from its args and attributes,
    without calling ``__init__`` again.
    """

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(
    cls: type[LedgerClientError], args: tuple[object, ...], state: dict[str, object]
) -> LedgerClientError:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class ConfigurationError(LedgerClientError, ValueError):
    """A setting, deployment file or keystore is missing or inconsistent."""


class DocumentValidationError(LedgerClientError, ValueError):
    """A document failed validation; `errors` lists (field, rule, message) items."""

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class IpfsError(LedgerClientError):
    """An IPFS operation failed."""


class IpfsUnavailableError(IpfsError, ConnectionError):
    """The IPFS node could not be reached (down, wrong address, timed out)."""


class IpfsContentNotFoundError(IpfsError, LookupError):
    """The IPFS node answered but could not provide the requested content in time."""


class IpfsInvalidCidError(IpfsError, ValueError):
    """A CID or digest is malformed, or not the CIDv0 (dag-pb, sha2-256) the ledger anchors."""


class ChainError(LedgerClientError):
    """A chain operation failed."""


class ChainUnavailableError(ChainError, ConnectionError):
    """The Ethereum JSON-RPC endpoint could not be reached."""


class TransactionFailedError(ChainError):
    """A transaction was mined but reverted, or could not be sent."""


class ContractRuleError(TransactionFailedError, PermissionError):
    """A contract rejected a call with one of its custom errors.

    `rule` is the Solidity error name (e.g. ``RegistryNotIssuer``) and `args` its
    decoded arguments; subclasses are generated per rule by
    `ledger_client.contract_errors`.
    """

    def __init__(self, rule: str, args: dict[str, object], message: str | None = None) -> None:
        self.rule = rule
        self.rule_args = args
        super().__init__(message or f"{rule}({', '.join(f'{k}={v!r}' for k, v in args.items())})")


class VerificationError(LedgerClientError, ValueError):
    """A fetched or presented document did not verify; `check` names the failed check."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check
