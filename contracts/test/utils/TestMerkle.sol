// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";

/// @notice Reference Merkle tree of the tests, written independently of the registry's assembly:
/// levels built pairwise left to right with OpenZeppelin's sorted-pair keccak, an odd last node
/// carried up unchanged; a tree of one leaf has root = leaf.
library TestMerkle {
    function root(bytes32[] memory leaves) internal pure returns (bytes32) {
        bytes32[] memory level = leaves;
        while (level.length > 1) {
            level = _parentLevel(level);
        }
        return level[0];
    }

    /// @notice The proof of leaf `index`: one sibling per level where the node has one (a carried
    /// odd node contributes nothing), bottom-up, as `MerkleProof.verify` expects.
    function proof(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32[] memory path) {
        bytes32[] memory buffer = new bytes32[](256);
        uint256 length;
        bytes32[] memory level = leaves;
        while (level.length > 1) {
            uint256 sibling = index ^ 1;
            if (sibling < level.length) buffer[length++] = level[sibling];
            level = _parentLevel(level);
            index >>= 1;
        }
        path = new bytes32[](length);
        for (uint256 i = 0; i < length; ++i) {
            path[i] = buffer[i];
        }
    }

    function _parentLevel(bytes32[] memory level) private pure returns (bytes32[] memory parent) {
        uint256 n = level.length;
        parent = new bytes32[]((n + 1) / 2);
        for (uint256 i = 0; i + 1 < n; i += 2) {
            parent[i / 2] = Hashes.commutativeKeccak256(level[i], level[i + 1]);
        }
        if (n % 2 == 1) parent[n / 2] = level[n - 1];
    }
}
