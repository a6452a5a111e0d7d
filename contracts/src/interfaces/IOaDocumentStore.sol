// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title IOaDocumentStore
/// @notice The part of the OpenAttestation DocumentStore interface that OA verifiers call
/// (npm govtechsg/oa-verify, `OpenAttestationEthereumDocumentStoreStatus`: `supportsInterface`,
/// `isIssued(bytes32)`, `isRevoked(bytes32)`), answered for ONE economy from the
/// DocumentRegistry's OA issuance records. Read-only: issuing and revoking go through the
/// registry (`issueOaRoot`, `revokeOa`), by the economy's node accounts.
interface IOaDocumentStore {
    /// @notice The registry address has no code.
    error OaStoreInvalidRegistry(address registry);
    /// @notice The economy is not two ASCII capital letters (ISO 3166-1 alpha-2).
    error OaStoreInvalidEconomy(bytes2 economy);

    /// @notice Whether this store's economy issued the OA batch root `document`. Anyone may call.
    function isIssued(bytes32 document) external view returns (bool);

    /// @notice Whether this store's economy revoked `document` (a target hash, an intermediate
    /// node or a batch root). Anyone may call.
    function isRevoked(bytes32 document) external view returns (bool);

    /// @notice Human-readable name, e.g. "CIE Ledger KZ". Anyone may call.
    function name() external view returns (string memory);

    /// @notice The DocumentRegistry this store reads. Anyone may call.
    function registry() external view returns (address);

    /// @notice The economy (ISO 3166-1 alpha-2, bytes2 ASCII) whose issuance this store reports.
    function economy() external view returns (bytes2);
}
