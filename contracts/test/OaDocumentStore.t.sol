// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {BaseTest, vm} from "./utils/BaseTest.sol";
import {TestMerkle} from "./utils/TestMerkle.sol";
import {IConsortium} from "../src/interfaces/IConsortium.sol";
import {IDocumentRegistry} from "../src/interfaces/IDocumentRegistry.sol";
import {IOaDocumentStore} from "../src/interfaces/IOaDocumentStore.sol";
import {OaDocumentStore} from "../src/OaDocumentStore.sol";

/// @notice Fixture: one OaDocumentStore facade per founding economy, and OA batches built like
/// OpenAttestation v2 does (leaves = target hashes, nodes = keccak256 of the sorted pair, an odd
/// last node carried up; TestMerkle is that tree).
abstract contract OaTest is BaseTest {
    OaDocumentStore internal kzStore;
    OaDocumentStore internal uzStore;

    function setUp() public virtual override {
        super.setUp();
        kzStore = new OaDocumentStore(registry, KZ);
        uzStore = new OaDocumentStore(registry, UZ);
    }

    function _targets(uint256 seed, uint256 n) internal pure returns (bytes32[] memory leaves) {
        leaves = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            leaves[i] = keccak256(abi.encode("target hash", seed, i));
        }
    }

    function _issue(address node, bytes32 root) internal {
        vm.prank(node);
        registry.issueOaRoot(root);
    }

    function _suspendCn() internal {
        vm.prank(kz1);
        uint256 id = consortium.proposeSuspendMember(CN);
        vm.prank(uz1);
        consortium.vote(id, true);
        vm.prank(kg1);
        consortium.vote(id, true);
    }
}

contract DocumentRegistry_issueOaRoot_Test is OaTest {
    function testFuzz_issuesUnderTheCallersEconomy(bytes32 root, uint32 delay) public {
        vm.assume(root != 0);
        vm.warp(block.timestamp + delay);
        vm.expectEmit(true, true, true, true, address(registry));
        emit IDocumentRegistry.OaRootIssued(KZ, root, kz2);
        _issue(kz2, root);
        vm.assertEq(registry.oaIssuedAt(KZ, root), block.timestamp);
        vm.assertEq(registry.oaIssuedAt(UZ, root), 0);
        vm.assertTrue(kzStore.isIssued(root));
        vm.assertFalse(uzStore.isIssued(root));
        vm.assertFalse(kzStore.isRevoked(root));
    }

    function testFuzz_revertsWhenTheEconomyIssuedTheRootBefore(bytes32 root) public {
        vm.assume(root != 0);
        _issue(kz1, root);
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryOaRootAlreadyIssued.selector, KZ, root));
        vm.prank(kz2); // another node account of the same economy
        registry.issueOaRoot(root);
    }

    /// @notice Roots are per economy: B issuing A's root first neither blocks A nor counts for A.
    function testFuzz_anotherEconomyCannotSquatARoot(bytes32 root) public {
        vm.assume(root != 0);
        _issue(uz1, root);
        vm.assertFalse(kzStore.isIssued(root));
        _issue(kz1, root);
        vm.assertTrue(kzStore.isIssued(root));
        vm.assertTrue(uzStore.isIssued(root));
    }

    function test_revertsOnTheZeroRoot() public {
        vm.expectRevert(IDocumentRegistry.RegistryOaZeroRoot.selector);
        vm.prank(kz1);
        registry.issueOaRoot(0);
    }

    function testFuzz_revertsForNonMembers(bytes32 root) public {
        vm.assume(root != 0);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, outsider));
        vm.prank(outsider);
        registry.issueOaRoot(root);
        _suspendCn();
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, cn1));
        vm.prank(cn1);
        registry.issueOaRoot(root);
    }

    /// @notice A root issued before suspension stays issued (like an anchored document).
    function test_issuedRootsSurviveSuspension() public {
        OaDocumentStore cnStore = new OaDocumentStore(registry, CN);
        bytes32 root = keccak256("cn batch");
        _issue(cn1, root);
        _suspendCn();
        vm.assertTrue(cnStore.isIssued(root));
    }
}

contract DocumentRegistry_revokeOa_Test is OaTest {
    function testFuzz_revokesOneDocumentOfABatch(uint256 seed, uint256 n, uint256 index, uint32 delay) public {
        n = bound(n, 1, 40);
        index = bound(index, 0, n - 1);
        bytes32[] memory leaves = _targets(seed, n);
        bytes32 root = TestMerkle.root(leaves);
        _issue(kz1, root);
        bytes32[] memory proof = TestMerkle.proof(leaves, index);
        vm.warp(block.timestamp + delay);
        vm.expectEmit(true, true, true, true, address(registry));
        emit IDocumentRegistry.OaHashRevoked(KZ, leaves[index], root, kz2);
        vm.prank(kz2);
        registry.revokeOa(root, leaves[index], proof);
        vm.assertEq(registry.oaRevokedAt(KZ, leaves[index]), block.timestamp);
        vm.assertTrue(kzStore.isRevoked(leaves[index]));
        vm.assertFalse(uzStore.isRevoked(leaves[index]));
        for (uint256 i = 0; i < n; ++i) {
            if (i != index) vm.assertFalse(kzStore.isRevoked(leaves[i]));
        }
        vm.assertTrue(kzStore.isIssued(root), "revocation does not un-issue the root");
        vm.assertEq(kzStore.isRevoked(root), n == 1, "only a batch of one has its root revoked");
    }

    function test_revokesAWholeBatchByItsRoot() public {
        bytes32[] memory leaves = _targets(1, 5);
        bytes32 root = TestMerkle.root(leaves);
        _issue(kz1, root);
        vm.prank(kz1);
        registry.revokeOa(root, root, new bytes32[](0));
        vm.assertTrue(kzStore.isRevoked(root));
    }

    function test_revokesAnIntermediateNode() public {
        bytes32[] memory leaves = _targets(2, 4);
        bytes32 root = TestMerkle.root(leaves);
        _issue(kz1, root);
        bytes32 left = _hashPair(leaves[0], leaves[1]);
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = _hashPair(leaves[2], leaves[3]);
        vm.prank(kz1);
        registry.revokeOa(root, left, proof);
        vm.assertTrue(kzStore.isRevoked(left));
        vm.assertFalse(kzStore.isRevoked(leaves[0]));
    }

    function testFuzz_revertsWhenTheHashIsNotInTheBatch(uint256 seed, bytes32 stranger) public {
        bytes32[] memory leaves = _targets(seed, 6);
        bytes32 root = TestMerkle.root(leaves);
        vm.assume(stranger != leaves[0]);
        _issue(kz1, root);
        bytes32[] memory proof = TestMerkle.proof(leaves, 0);
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryOaHashNotInBatch.selector, root, stranger));
        vm.prank(kz1);
        registry.revokeOa(root, stranger, proof);
    }

    function test_revertsOnASecondRevocation() public {
        bytes32[] memory leaves = _targets(3, 3);
        bytes32 root = TestMerkle.root(leaves);
        _issue(kz1, root);
        bytes32[] memory proof = TestMerkle.proof(leaves, 2);
        vm.prank(kz1);
        registry.revokeOa(root, leaves[2], proof);
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryOaAlreadyRevoked.selector, KZ, leaves[2]));
        vm.prank(kz2);
        registry.revokeOa(root, leaves[2], proof);
    }

    /// @notice B cannot revoke A's documents: B did not issue A's root, and a root B builds around
    /// A's target hash only revokes it under B.
    function testFuzz_anotherEconomyCannotRevokeAsTheIssuer(uint256 seed, bytes32 other) public {
        bytes32[] memory leaves = _targets(seed, 2);
        vm.assume(other != leaves[0]);
        bytes32 root = TestMerkle.root(leaves);
        _issue(kz1, root);
        bytes32[] memory proof = TestMerkle.proof(leaves, 0);
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryOaRootNotIssued.selector, UZ, root));
        vm.prank(uz1);
        registry.revokeOa(root, leaves[0], proof);

        bytes32 uzRoot = _hashPair(leaves[0], other);
        _issue(uz1, uzRoot);
        bytes32[] memory uzProof = new bytes32[](1);
        uzProof[0] = other;
        vm.prank(uz1);
        registry.revokeOa(uzRoot, leaves[0], uzProof);
        vm.assertTrue(uzStore.isRevoked(leaves[0]));
        vm.assertFalse(kzStore.isRevoked(leaves[0]));
    }

    function test_revertsForNonMembers() public {
        bytes32 root = keccak256("root");
        _issue(cn1, root);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, outsider));
        vm.prank(outsider);
        registry.revokeOa(root, root, new bytes32[](0));
        _suspendCn();
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, cn1));
        vm.prank(cn1);
        registry.revokeOa(root, root, new bytes32[](0));
    }

    function _hashPair(bytes32 a, bytes32 b) private pure returns (bytes32) {
        return a < b ? keccak256(abi.encodePacked(a, b)) : keccak256(abi.encodePacked(b, a));
    }
}

contract OaDocumentStore_constructor_Test is OaTest {
    function test_reportsItsRegistryEconomyAndName() public view {
        vm.assertEq(kzStore.registry(), address(registry));
        vm.assertEq(bytes32(kzStore.economy()), bytes32(KZ));
        vm.assertEq(keccak256(bytes(kzStore.name())), keccak256("CIE Ledger KZ"));
    }

    function test_revertsWithoutARegistry() public {
        vm.expectRevert(abi.encodeWithSelector(IOaDocumentStore.OaStoreInvalidRegistry.selector, outsider));
        new OaDocumentStore(IDocumentRegistry(outsider), KZ);
    }

    function testFuzz_acceptsOnlyTwoCapitalLetters(bytes2 economy) public {
        bool capitals = economy[0] >= "A" && economy[0] <= "Z" && economy[1] >= "A" && economy[1] <= "Z";
        if (!capitals) {
            vm.expectRevert(abi.encodeWithSelector(IOaDocumentStore.OaStoreInvalidEconomy.selector, economy));
        }
        OaDocumentStore store = new OaDocumentStore(registry, economy);
        if (capitals) vm.assertEq(bytes32(store.economy()), bytes32(economy));
    }

    function test_rejectsLowercaseAndEmptyCodes() public {
        bytes2[3] memory bad = [bytes2("kz"), bytes2(0), bytes2("K ")];
        for (uint256 i = 0; i < bad.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IOaDocumentStore.OaStoreInvalidEconomy.selector, bad[i]));
            new OaDocumentStore(registry, bad[i]);
        }
    }
}

contract OaDocumentStore_views_Test is OaTest {
    /// @notice Facades answer from the registry for their own economy only; two facades of the
    /// same economy (anyone may deploy one) agree.
    function testFuzz_facadeOfAOnlyReportsAsIssuance(bytes32 kzRoot, bytes32 uzRoot) public {
        vm.assume(kzRoot != 0 && uzRoot != 0 && kzRoot != uzRoot);
        _issue(kz1, kzRoot);
        _issue(uz1, uzRoot);
        OaDocumentStore anotherKzStore = new OaDocumentStore(registry, KZ);
        vm.assertTrue(kzStore.isIssued(kzRoot));
        vm.assertTrue(anotherKzStore.isIssued(kzRoot));
        vm.assertFalse(kzStore.isIssued(uzRoot), "KZ facade must not report UZ's root");
        vm.assertTrue(uzStore.isIssued(uzRoot));
        vm.assertFalse(uzStore.isIssued(kzRoot), "UZ facade must not report KZ's root");
        vm.prank(uz1);
        registry.revokeOa(uzRoot, uzRoot, new bytes32[](0));
        vm.assertTrue(uzStore.isRevoked(uzRoot));
        vm.assertFalse(kzStore.isRevoked(uzRoot));
    }

    function testFuzz_nothingIsIssuedOrRevokedByDefault(bytes32 document) public view {
        vm.assertFalse(kzStore.isIssued(document));
        vm.assertFalse(kzStore.isRevoked(document));
    }

    function testFuzz_supportsOnlyErc165(bytes4 interfaceId) public view {
        vm.assertEq(kzStore.supportsInterface(interfaceId), interfaceId == 0x01ffc9a7);
    }

    /// @notice Not OA's DocumentStoreBatchable: oa-verify must take the isIssued(root) /
    /// isRevoked(hash) path, which this facade answers.
    function test_isNotABatchableDocumentStore() public view {
        vm.assertFalse(kzStore.supportsInterface(0xdcfd0745));
        vm.assertTrue(kzStore.supportsInterface(0x01ffc9a7));
    }

    /// @notice Execution gas of the OA writes (logged with -vv; whole-transaction gas on anvil is
    /// in the README).
    function test_gas_oaWrites() public {
        bytes32[] memory leaves = _targets(9, 100);
        bytes32 root = TestMerkle.root(leaves);
        bytes32[] memory proof = TestMerkle.proof(leaves, 17);
        vm.prank(kz1);
        uint256 before = gasleft();
        registry.issueOaRoot(root);
        emit log_named_uint("issueOaRoot", before - gasleft());
        vm.prank(kz1);
        before = gasleft();
        registry.revokeOa(root, leaves[17], proof);
        emit log_named_uint("revokeOa (proof of 7)", before - gasleft());
        vm.assertTrue(kzStore.isRevoked(leaves[17]));
    }
}
