// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IDocumentRegistry} from "./interfaces/IDocumentRegistry.sol";
import {IOaDocumentStore} from "./interfaces/IOaDocumentStore.sol";

/// @title OaDocumentStore
/// @notice A per-economy OpenAttestation DocumentStore facade over the DocumentRegistry: the
/// address an economy publishes (DNS-TXT `openatts ... addr=<this>`) and names as `documentStore`
/// in its OA documents. It answers from the registry's state for its economy only, so the facade
/// of A never reports B's roots as issued.
///
/// It holds no state and has no admin: anyone may deploy one for any economy, and every such
/// deployment gives the same answers (what the economy issued on the registry). Who issued is
/// settled by the registry (only the economy's node accounts can issue under it); which facade
/// speaks for an economy is settled by that economy's DNS record.
///
/// `supportsInterface` answers true for ERC-165 only: in particular not for OA's
/// DocumentStoreBatchable (0xdcfd0745), so oa-verify checks `isIssued(merkleRoot)` and
/// `isRevoked(h)` for the target hash, every intermediate hash and the root.
contract OaDocumentStore is IOaDocumentStore, IERC165 {
    IDocumentRegistry private immutable _registry;
    bytes2 private immutable _economy;

    /// @param registry_ The DocumentRegistry holding the OA issuance records (immutable).
    /// @param economy_ The economy whose issuance this store reports (two ASCII capitals).
    /// @dev Reverts with `OaStoreInvalidRegistry` (no code) or `OaStoreInvalidEconomy`.
    constructor(IDocumentRegistry registry_, bytes2 economy_) {
        if (address(registry_).code.length == 0) revert OaStoreInvalidRegistry(address(registry_));
        if (!_isCapital(economy_[0]) || !_isCapital(economy_[1])) revert OaStoreInvalidEconomy(economy_);
        _registry = registry_;
        _economy = economy_;
    }

    /// @inheritdoc IOaDocumentStore
    function isIssued(bytes32 document) external view returns (bool) {
        return _registry.oaIssuedAt(_economy, document) != 0;
    }

    /// @inheritdoc IOaDocumentStore
    function isRevoked(bytes32 document) external view returns (bool) {
        return _registry.oaRevokedAt(_economy, document) != 0;
    }

    /// @inheritdoc IOaDocumentStore
    function name() external view returns (string memory) {
        return string(abi.encodePacked("CIE Ledger ", _economy));
    }

    /// @inheritdoc IOaDocumentStore
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc IOaDocumentStore
    function economy() external view returns (bytes2) {
        return _economy;
    }

    /// @notice ERC-165: true for IERC165 only. Anyone may call.
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC165).interfaceId;
    }

    function _isCapital(bytes1 c) private pure returns (bool) {
        return c >= "A" && c <= "Z";
    }
}
