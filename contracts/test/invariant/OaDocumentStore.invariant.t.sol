// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {BaseTest, TestHelpers, vm} from "../utils/BaseTest.sol";
import {TestMerkle} from "../utils/TestMerkle.sol";
import {DocumentRegistry} from "../../src/DocumentRegistry.sol";
import {OaDocumentStore} from "../../src/OaDocumentStore.sol";

/// @notice Drives OpenAttestation issuance with random callers (members and an outsider): issues
/// fresh batches or roots already issued by someone, and revokes documents, inner nodes and roots
/// of any batch. The ghost model is updated ONLY from calls that succeeded.
contract OaHandler is TestHelpers {
    struct Batch {
        bytes32 root;
        bytes32[] leaves;
    }

    DocumentRegistry public immutable registry;
    address[] internal actors;
    bytes2[] internal economies; // economies[i] is actors[i]'s (0 for the outsider)

    /// @dev Few batches of few documents: the invariant reads every touched hash on every
    /// facade after each call, so a small universe keeps the campaign fast while issuers still
    /// collide on shared roots and on hashes.
    uint256 internal constant MAX_BATCHES = 8;

    Batch[] internal batches;
    bytes32[] internal touched; // every root and revoked hash (once), for the invariants
    mapping(bytes32 => bool) internal isTouched;
    mapping(bytes2 economy => mapping(bytes32 root => bool)) public issuedBy;
    mapping(bytes2 economy => mapping(bytes32 hash => bool)) public revokedBy;

    bool public outsiderWrote;
    bool public duplicateAccepted;
    bool public foreignRevocation;
    uint256 public issues;
    uint256 public revocations;
    uint256 public sharedRoots;

    constructor(DocumentRegistry registry_, address[] memory actors_, bytes2[] memory economies_) {
        registry = registry_;
        actors = actors_;
        economies = economies_;
    }

    function touchedCount() external view returns (uint256) {
        return touched.length;
    }

    function touchedAt(uint256 i) external view returns (bytes32) {
        return touched[i];
    }

    function issue(uint256 actorSeed, uint256 seed, uint8 size) external {
        (address actor, bytes2 economy) = _actor(actorSeed);
        bool reuse = batches.length != 0 && (seed % 4 == 0 || batches.length == MAX_BATCHES);
        uint256 index = reuse ? seed % batches.length : batches.length;
        if (!reuse) {
            batches.push();
            Batch storage fresh = batches[index];
            uint256 n = 1 + size % 4;
            for (uint256 i = 0; i < n; ++i) {
                fresh.leaves.push(keccak256(abi.encode("target", seed, i)));
            }
            fresh.root = TestMerkle.root(fresh.leaves);
            _touch(fresh.root);
        }
        bytes32 root = batches[index].root;
        vm.prank(actor);
        try registry.issueOaRoot(root) {
            ++issues;
            if (economy == 0) outsiderWrote = true;
            if (issuedBy[economy][root]) duplicateAccepted = true;
            if (reuse) ++sharedRoots;
            issuedBy[economy][root] = true;
        } catch {}
    }

    function revoke(uint256 actorSeed, uint256 batchSeed, uint256 nodeSeed) external {
        if (batches.length == 0) return;
        (address actor, bytes2 economy) = _actor(actorSeed);
        Batch storage b = batches[batchSeed % batches.length];
        bytes32 hash;
        bytes32[] memory proof;
        if (nodeSeed % 4 == 0) {
            hash = b.root; // the whole batch
        } else {
            uint256 index = nodeSeed % b.leaves.length;
            hash = b.leaves[index];
            proof = TestMerkle.proof(b.leaves, index);
        }
        vm.prank(actor);
        try registry.revokeOa(b.root, hash, proof) {
            ++revocations;
            if (economy == 0) outsiderWrote = true;
            if (!issuedBy[economy][b.root]) foreignRevocation = true;
            if (revokedBy[economy][hash]) duplicateAccepted = true;
            revokedBy[economy][hash] = true;
            _touch(hash);
        } catch {}
    }

    function _touch(bytes32 h) internal {
        if (isTouched[h]) return;
        isTouched[h] = true;
        touched.push(h);
    }

    function _actor(uint256 seed) internal view returns (address, bytes2) {
        uint256 i = seed % actors.length;
        return (actors[i], economies[i]);
    }
}

abstract contract OaInvariantBase is BaseTest {
    OaHandler internal handler;
    bytes2[] internal members;
    OaDocumentStore[] internal stores; // stores[i] is members[i]'s facade

    function setUp() public override {
        super.setUp();
        address[] memory actors = new address[](5);
        bytes2[] memory economies = new bytes2[](5);
        (actors[0], actors[1], actors[2], actors[3], actors[4]) = (kz1, uz1, kg1, cn1, outsider);
        (economies[0], economies[1], economies[2], economies[3], economies[4]) = (KZ, UZ, KG, CN, bytes2(0));
        handler = new OaHandler(registry, actors, economies);
        for (uint256 i = 0; i < 4; ++i) {
            members.push(economies[i]);
            stores.push(new OaDocumentStore(registry, economies[i]));
        }
    }
}

contract OaDocumentStore_invariant_Test is OaInvariantBase {
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @notice Each economy's facade reports exactly what that economy issued and revoked: no
    /// outsider writes, no root issued twice by one economy, no revocation under an economy that
    /// did not issue the batch, and nothing one economy does shows on another's facade. Checked
    /// after every call for the latest hashes; `afterInvariant` compares every hash of the run.
    /// Depth 32: the universe (8 batches of at most 4 documents) is saturated well before.
    /// forge-config: default.invariant.depth = 32
    function invariant_facadesReportOnlyTheirOwnEconomy() public view {
        vm.assertFalse(handler.outsiderWrote(), "an outsider issued or revoked");
        vm.assertFalse(handler.duplicateAccepted(), "issued or revoked twice");
        vm.assertFalse(handler.foreignRevocation(), "revoked by an economy that did not issue");
        uint256 n = handler.touchedCount();
        _compare(n > 3 ? n - 3 : 0, n);
    }

    function afterInvariant() public view {
        _compare(0, handler.touchedCount());
    }

    function _compare(uint256 from, uint256 to) internal view {
        for (uint256 i = from; i < to; ++i) {
            bytes32 h = handler.touchedAt(i);
            for (uint256 e = 0; e < members.length; ++e) {
                vm.assertEq(stores[e].isIssued(h), handler.issuedBy(members[e], h), "isIssued");
                vm.assertEq(stores[e].isRevoked(h), handler.revokedBy(members[e], h), "isRevoked");
            }
        }
    }
}

contract OaDocumentStore_handlerCoverage_Test is OaInvariantBase {
    /// @dev Sanity check of the handler: random calls reach issues, shared roots and revocations.
    function test_handlerReachesSharedRootsAndRevocations() public {
        for (uint256 i = 0; i < 200; ++i) {
            uint256 r = uint256(keccak256(abi.encode("oa", i)));
            if (r % 2 == 0 || i < 5) handler.issue(r >> 8, r >> 16, uint8(r >> 24));
            else handler.revoke(r >> 8, r >> 16, r >> 24);
        }
        emit log_named_uint("issues", handler.issues());
        emit log_named_uint("roots issued by a second economy", handler.sharedRoots());
        emit log_named_uint("revocations", handler.revocations());
        vm.assertGt(handler.sharedRoots(), 0);
        vm.assertGt(handler.revocations(), 0);
        vm.assertFalse(handler.outsiderWrote() || handler.duplicateAccepted() || handler.foreignRevocation());
    }
}
