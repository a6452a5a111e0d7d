// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {BaseTest, vm} from "./utils/BaseTest.sol";
import {Vm} from "./utils/Vm.sol";
import {DocumentRegistry} from "../src/DocumentRegistry.sol";
import {IConsortium} from "../src/interfaces/IConsortium.sol";
import {IDocumentRegistry} from "../src/interfaces/IDocumentRegistry.sol";

/// @notice Fixture: KZ anchored one batch (serials 100..103):
///   0 manifest       -> UZ, KG
///   1 transit        itinerary KZ, KG, UZ
///   2 certificate    -> CN
///   3 transit        itinerary KZ, UZ
abstract contract LifecycleTest is BaseTest {
    bytes[] internal records;
    bytes32[] internal ids;
    bytes32[] internal leaves;
    bytes32 internal batchKey;

    bytes32 internal manifest;
    bytes32 internal transit;
    bytes32 internal certificate;
    bytes32 internal shortTransit;

    function setUp() public virtual override {
        super.setUp();
        records.push(_pack(_doc(MANIFEST, _list(UZ, KG), 1)));
        records.push(_pack(_doc(TRANSIT, _list(KZ, KG, UZ), 2)));
        records.push(_pack(_doc(ORIGIN, _list(CN), 3)));
        records.push(_pack(_doc(TRANSIT, _list(KZ, UZ), 4)));
        (batchKey, ids, leaves) = _anchorBatch(kz1, 100, records);
        (manifest, transit, certificate, shortTransit) = (ids[0], ids[1], ids[2], ids[3]);
    }

    function _p(uint256 index) internal view returns (IDocumentRegistry.DocumentProof memory) {
        return _proof(batchKey, records, leaves, index);
    }

    function _state(bytes32 id) internal view returns (IDocumentRegistry.DocumentState memory) {
        return registry.documentState(id);
    }

    function _checkpoint(address node, uint256 index, uint8 kind) internal returns (uint8) {
        IDocumentRegistry.DocumentProof memory p = _p(index);
        vm.prank(node);
        return registry.recordCheckpoint(ids[index], kind, p);
    }
}

contract DocumentRegistry_amend_Test is LifecycleTest {
    function testFuzz_amendsAndEmitsPerDestination(bytes32 commitment, bytes32 payloadDigest) public {
        IDocumentRegistry.DocumentProof memory p = _p(0);
        vm.warp(block.timestamp + 60);
        vm.expectEmit(true, true, true, true, address(registry));
        emit IDocumentRegistry.DocumentAmended(manifest, MANIFEST, UZ, 2, commitment, payloadDigest);
        vm.expectEmit(true, true, true, true, address(registry));
        emit IDocumentRegistry.DocumentAmended(manifest, MANIFEST, KG, 2, commitment, payloadDigest);
        vm.prank(kz2);
        vm.assertEq(registry.amend(manifest, commitment, payloadDigest, p), 2);
        IDocumentRegistry.DocumentState memory s = _state(manifest);
        vm.assertTrue(s.materialized);
        vm.assertEq(s.docType, MANIFEST);
        vm.assertEq(s.status, registry.STATUS_ACTIVE());
        vm.assertEq(s.version, 2);
        vm.assertEq(s.materializedAt, block.timestamp);
        vm.assertEq(s.updatedAt, block.timestamp);
        vm.prank(kz1);
        vm.assertEq(registry.amend(manifest, commitment, payloadDigest, p), 3);
    }

    function test_amendsSingleAnchor() public {
        bytes memory record = _record(ORIGIN, UZ, 9);
        (bytes32 id, IDocumentRegistry.DocumentProof memory p) = _anchorOne(kz1, 5, record);
        vm.prank(kz1);
        vm.assertEq(registry.amend(id, "c", "d", p), 2);
    }

    function test_revertsForOtherEconomy() public {
        IDocumentRegistry.DocumentProof memory p = _p(0);
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryNotIssuer.selector, manifest, UZ));
        vm.prank(uz1); // a destination, not the issuer
        registry.amend(manifest, "c", "d", p);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, outsider));
        vm.prank(outsider);
        registry.amend(manifest, "c", "d", p);
    }

    function test_revertsOnBadProof() public {
        IDocumentRegistry.DocumentProof memory p = _p(0);
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryInvalidProof.selector, transit));
        vm.prank(kz1);
        registry.amend(transit, "c", "d", p); // proof of another document
        p.batchKey = manifest ^ bytes32(uint256(1));
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryUnknownBatch.selector, p.batchKey));
        vm.prank(kz1);
        registry.amend(manifest, "c", "d", p);
        p = _p(0);
        p.record = hex"0101";
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryMalformedRecord.selector, 0));
        vm.prank(kz1);
        registry.amend(manifest, "c", "d", p);
        p = _p(0);
        p.proof[0] = bytes32(uint256(p.proof[0]) ^ 1);
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryInvalidProof.selector, manifest));
        vm.prank(kz1);
        registry.amend(manifest, "c", "d", p);
    }

    /// @dev Destinations cannot change: a record with other destinations does not prove the id.
    function test_cannotRerouteDocument() public {
        IDocumentRegistry.DocumentProof memory p = _p(0);
        p.record = _pack(_doc(MANIFEST, _list(CN), 1));
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryInvalidProof.selector, manifest));
        vm.prank(kz1);
        registry.amend(manifest, "c", "d", p);
    }

    function test_revertsAfterRevocation() public {
        IDocumentRegistry.DocumentProof memory p = _p(0);
        vm.prank(kz1);
        registry.revoke(manifest, 1, p);
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryDocumentRevoked.selector, manifest));
        vm.prank(kz1);
        registry.amend(manifest, "c", "d", p);
    }
}

contract DocumentRegistry_revoke_Test is LifecycleTest {
    function testFuzz_revokesForGood(uint16 reasonCode) public {
        IDocumentRegistry.DocumentProof memory p = _p(0);
        vm.expectEmit(true, true, true, true, address(registry));
        emit IDocumentRegistry.DocumentRevoked(manifest, MANIFEST, UZ, reasonCode);
        vm.expectEmit(true, true, true, true, address(registry));
        emit IDocumentRegistry.DocumentRevoked(manifest, MANIFEST, KG, reasonCode);
        vm.prank(kz1);
        registry.revoke(manifest, reasonCode, p);
        IDocumentRegistry.DocumentState memory s = _state(manifest);
        vm.assertEq(s.status, registry.STATUS_REVOKED());
        vm.assertEq(s.revocationReason, reasonCode);
        vm.assertEq(s.revokedAt, block.timestamp);
        vm.assertEq(s.version, 1);
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryDocumentRevoked.selector, manifest));
        vm.prank(kz2);
        registry.revoke(manifest, reasonCode, p);
    }

    function test_revertsForOtherEconomy() public {
        IDocumentRegistry.DocumentProof memory p = _p(2);
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryNotIssuer.selector, certificate, CN));
        vm.prank(cn1);
        registry.revoke(certificate, 1, p);
    }

    function test_revertsOnBadProof() public {
        IDocumentRegistry.DocumentProof memory p = _p(2);
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryInvalidProof.selector, manifest));
        vm.prank(kz1);
        registry.revoke(manifest, 1, p);
    }
}

contract DocumentRegistry_acknowledge_Test is LifecycleTest {
    function testFuzz_acknowledgesOncePerVersion(uint8 lane, bytes32 reasonsCommitment, bytes32 reasonsDigest) public {
        lane = uint8(bound(lane, 1, 3));
        IDocumentRegistry.DocumentProof memory p = _p(0);
        vm.expectEmit(true, true, true, true, address(registry));
        emit IDocumentRegistry.DocumentAcknowledged(manifest, KZ, UZ, 1, lane, reasonsCommitment, reasonsDigest);
        vm.prank(uz1);
        registry.acknowledge(manifest, 1, lane, reasonsCommitment, reasonsDigest, p);
        (uint8 storedLane, uint40 acknowledgedAt) = registry.acknowledgement(manifest, 1, UZ);
        vm.assertEq(storedLane, lane);
        vm.assertEq(acknowledgedAt, block.timestamp);
        vm.assertFalse(_state(manifest).materialized); // acknowledging writes no document state
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryAlreadyAcknowledged.selector, manifest, 1, UZ));
        vm.prank(uz1);
        registry.acknowledge(manifest, 1, lane, reasonsCommitment, reasonsDigest, p);
        vm.prank(kg1); // the other destination
        registry.acknowledge(manifest, 1, lane, reasonsCommitment, 0, p);
    }

    function test_acknowledgesEachVersion() public {
        IDocumentRegistry.DocumentProof memory p = _p(0);
        vm.prank(kz1);
        registry.amend(manifest, "c2", "d2", p);
        vm.prank(uz1);
        registry.acknowledge(manifest, 2, 3, "r", 0, p); // RED
        vm.prank(uz1);
        registry.acknowledge(manifest, 1, 1, 0, 0, p); // GREEN, a late receipt of v1
        (uint8 lane2,) = registry.acknowledgement(manifest, 2, UZ);
        (uint8 lane1,) = registry.acknowledgement(manifest, 1, UZ);
        vm.assertEq(lane2, 3);
        vm.assertEq(lane1, 1);
    }

    function testFuzz_revertsOnUnknownVersion(uint32 version) public {
        vm.assume(version != 1);
        IDocumentRegistry.DocumentProof memory p = _p(0);
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryUnknownVersion.selector, manifest, version, 1));
        vm.prank(uz1);
        registry.acknowledge(manifest, version, 1, 0, 0, p);
    }

    function testFuzz_revertsOnInvalidLane(uint8 lane) public {
        vm.assume(lane == 0 || lane > 3);
        IDocumentRegistry.DocumentProof memory p = _p(0);
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryInvalidLane.selector, lane));
        vm.prank(uz1);
        registry.acknowledge(manifest, 1, lane, 0, 0, p);
    }

    function test_revertsForNonDestination() public {
        IDocumentRegistry.DocumentProof memory p = _p(0);
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryNotDestination.selector, manifest, CN));
        vm.prank(cn1);
        registry.acknowledge(manifest, 1, 1, 0, 0, p);
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryNotDestination.selector, manifest, KZ));
        vm.prank(kz1); // the issuer is no destination of this manifest
        registry.acknowledge(manifest, 1, 1, 0, 0, p);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, outsider));
        vm.prank(outsider);
        registry.acknowledge(manifest, 1, 1, 0, 0, p);
    }

    function test_revertsOnRevokedDocument() public {
        IDocumentRegistry.DocumentProof memory p = _p(0);
        vm.prank(kz1);
        registry.revoke(manifest, 3, p);
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryDocumentRevoked.selector, manifest));
        vm.prank(uz1);
        registry.acknowledge(manifest, 1, 1, 0, 0, p);
    }

    function test_revertsOnBadProof() public {
        IDocumentRegistry.DocumentProof memory p = _p(2);
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryInvalidProof.selector, manifest));
        vm.prank(uz1);
        registry.acknowledge(manifest, 1, 1, 0, 0, p);
    }
}

contract DocumentRegistry_acknowledgeBatch_Test is LifecycleTest {
    function _item(uint256 index, uint32 version, uint8 lane, bytes32 reasonsCommitment)
        internal
        view
        returns (IDocumentRegistry.AcknowledgementItem memory item)
    {
        item.id = ids[index];
        item.version = version;
        item.lane = lane;
        item.reasonsCommitment = reasonsCommitment;
        item.reasonsDigest = keccak256(abi.encode(index, version));
        item.proof = _p(index);
    }

    function _items(IDocumentRegistry.AcknowledgementItem memory a, IDocumentRegistry.AcknowledgementItem memory b)
        internal
        pure
        returns (IDocumentRegistry.AcknowledgementItem[] memory items)
    {
        items = new IDocumentRegistry.AcknowledgementItem[](2);
        (items[0], items[1]) = (a, b);
    }

    /// @dev A batch whose FIRST item is valid and whose second is `bad`: reverts with `err` and
    /// records neither (atomic).
    function _expectBatchRevert(IDocumentRegistry.AcknowledgementItem memory bad, bytes memory err) internal {
        IDocumentRegistry.AcknowledgementItem[] memory items = _items(_item(3, 1, 1, "ok"), bad);
        vm.expectRevert(err);
        vm.prank(uz1);
        registry.acknowledgeBatch(items);
        (uint8 lane,) = registry.acknowledgement(shortTransit, 1, UZ);
        vm.assertEq(lane, 0, "the valid item of a reverted batch was recorded");
    }

    function test_recordsEveryItemWithItsEvent() public {
        vm.prank(kz1);
        registry.amend(manifest, "c2", "d2", _p(0));
        IDocumentRegistry.AcknowledgementItem[] memory items = new IDocumentRegistry.AcknowledgementItem[](4);
        items[0] = _item(0, 2, 3, "r0");
        items[1] = _item(1, 1, 2, "r1");
        items[2] = _item(3, 1, 1, "r3");
        items[3] = _item(0, 1, 1, 0); // a late receipt of v1 of the same document
        for (uint256 i = 0; i < items.length; ++i) {
            IDocumentRegistry.AcknowledgementItem memory it = items[i];
            vm.expectEmit(true, true, true, true, address(registry));
            emit IDocumentRegistry.DocumentAcknowledged(
                it.id, KZ, UZ, it.version, it.lane, it.reasonsCommitment, it.reasonsDigest
            );
        }
        vm.prank(uz1);
        registry.acknowledgeBatch(items);
        for (uint256 i = 0; i < items.length; ++i) {
            (uint8 lane, uint40 acknowledgedAt) = registry.acknowledgement(items[i].id, items[i].version, UZ);
            vm.assertEq(lane, items[i].lane);
            vm.assertEq(acknowledgedAt, block.timestamp);
        }
        // Recorded like single acknowledgements: a repeat of either kind is refused.
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryAlreadyAcknowledged.selector, transit, 1, UZ));
        vm.prank(uz1);
        registry.acknowledge(transit, 1, 2, 0, 0, _p(1));
    }

    function test_revertsOnEmptyBatch() public {
        vm.expectRevert(IDocumentRegistry.RegistryEmptyBatch.selector);
        vm.prank(uz1);
        registry.acknowledgeBatch(new IDocumentRegistry.AcknowledgementItem[](0));
    }

    function test_revertsForNonMember() public {
        IDocumentRegistry.AcknowledgementItem[] memory items = new IDocumentRegistry.AcknowledgementItem[](1);
        items[0] = _item(0, 1, 1, 0);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, outsider));
        vm.prank(outsider);
        registry.acknowledgeBatch(items);
    }

    function test_revertsWithTheBadItemsError() public {
        _expectBatchRevert(_item(0, 1, 0, 0), abi.encodeWithSelector(IDocumentRegistry.RegistryInvalidLane.selector, 0));
        _expectBatchRevert(_item(0, 1, 4, 0), abi.encodeWithSelector(IDocumentRegistry.RegistryInvalidLane.selector, 4));
        _expectBatchRevert(
            _item(0, 2, 1, 0), abi.encodeWithSelector(IDocumentRegistry.RegistryUnknownVersion.selector, manifest, 2, 1)
        );
        _expectBatchRevert(
            _item(0, 0, 1, 0), abi.encodeWithSelector(IDocumentRegistry.RegistryUnknownVersion.selector, manifest, 0, 1)
        );
        _expectBatchRevert(
            _item(2, 1, 1, 0),
            abi.encodeWithSelector(IDocumentRegistry.RegistryNotDestination.selector, certificate, UZ)
        );

        IDocumentRegistry.AcknowledgementItem memory wrongProof = _item(0, 1, 1, 0);
        wrongProof.proof = _p(2);
        _expectBatchRevert(
            wrongProof, abi.encodeWithSelector(IDocumentRegistry.RegistryInvalidProof.selector, manifest)
        );
        IDocumentRegistry.AcknowledgementItem memory unknownBatch = _item(0, 1, 1, 0);
        unknownBatch.proof.batchKey = keccak256("no such batch");
        _expectBatchRevert(
            unknownBatch,
            abi.encodeWithSelector(IDocumentRegistry.RegistryUnknownBatch.selector, keccak256("no such batch"))
        );
        IDocumentRegistry.AcknowledgementItem memory truncated = _item(0, 1, 1, 0);
        truncated.proof.record = hex"01";
        _expectBatchRevert(truncated, abi.encodeWithSelector(IDocumentRegistry.RegistryMalformedRecord.selector, 0));

        vm.prank(uz1);
        registry.acknowledge(transit, 1, 1, 0, 0, _p(1));
        _expectBatchRevert(
            _item(1, 1, 2, 0),
            abi.encodeWithSelector(IDocumentRegistry.RegistryAlreadyAcknowledged.selector, transit, 1, UZ)
        );

        vm.prank(kz1);
        registry.revoke(manifest, 3, _p(0));
        _expectBatchRevert(
            _item(0, 1, 1, 0), abi.encodeWithSelector(IDocumentRegistry.RegistryDocumentRevoked.selector, manifest)
        );
    }

    function test_revertsOnTheSameVersionTwice() public {
        IDocumentRegistry.AcknowledgementItem[] memory items = _items(_item(0, 1, 1, "a"), _item(0, 1, 3, "b"));
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryAlreadyAcknowledged.selector, manifest, 1, UZ));
        vm.prank(uz1);
        registry.acknowledgeBatch(items);
        (uint8 lane,) = registry.acknowledgement(manifest, 1, UZ);
        vm.assertEq(lane, 0);
    }

    /// @notice A batch is exactly its items acknowledged one by one in order: it succeeds iff
    /// every single call would, then with the same storage and the same events; otherwise it
    /// reverts with the first failing single call's error and records nothing. Compared against
    /// a second registry holding the same documents.
    function testFuzz_batchEqualsSingles(uint256 seed, uint8 size, bool amended, bool revoked) public {
        DocumentRegistry other = new DocumentRegistry(consortium);
        vm.prank(kz1);
        other.anchorBatch(100, 0, _concat(records));
        if (amended) {
            vm.prank(kz1);
            registry.amend(manifest, "c2", "d2", _p(0));
            vm.prank(kz1);
            other.amend(manifest, "c2", "d2", _p(0));
        }
        if (revoked) {
            vm.prank(kz1);
            registry.revoke(shortTransit, 1, _p(3));
            vm.prank(kz1);
            other.revoke(shortTransit, 1, _p(3));
        }
        // Mostly valid items of UZ (a destination of documents 0, 1 and 3); some break a rule.
        size = uint8(bound(size, 1, 6));
        IDocumentRegistry.AcknowledgementItem[] memory items = new IDocumentRegistry.AcknowledgementItem[](size);
        for (uint256 i = 0; i < size; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            uint256 index = r % 4;
            uint32 version = uint32(1 + ((r >> 8) % 5 == 0 ? 1 : 0));
            uint8 lane = uint8(1 + (r >> 16) % 3);
            if ((r >> 24) % 16 == 0) lane = 0;
            items[i] = _item(index, version, lane, bytes32(r));
        }

        vm.recordLogs();
        bytes memory singleError;
        for (uint256 i = 0; i < size; ++i) {
            IDocumentRegistry.AcknowledgementItem memory it = items[i];
            vm.prank(uz1);
            try other.acknowledge(it.id, it.version, it.lane, it.reasonsCommitment, it.reasonsDigest, it.proof) {}
            catch (bytes memory err) {
                singleError = err;
                break;
            }
        }
        Vm.Log[] memory singles = vm.getRecordedLogs();

        vm.recordLogs();
        vm.prank(uz1);
        try registry.acknowledgeBatch(items) {
            vm.assertEq(singleError.length, 0, "the batch succeeded where a single call failed");
        } catch (bytes memory err) {
            vm.assertEq(keccak256(err), keccak256(singleError), "the batch's error is not the first failing item's");
        }
        Vm.Log[] memory batch = vm.getRecordedLogs();

        if (singleError.length != 0) {
            // (forge's recordLogs also lists the logs of a reverted call, so storage is checked.)
            for (uint256 i = 0; i < size; ++i) {
                (uint8 lane,) = registry.acknowledgement(items[i].id, items[i].version, UZ);
                vm.assertEq(lane, 0, "a reverted batch recorded an item");
            }
            return;
        }
        vm.assertEq(batch.length, singles.length, "event count");
        for (uint256 i = 0; i < batch.length; ++i) {
            vm.assertEq(batch[i].emitter, address(registry));
            vm.assertEq(keccak256(abi.encode(batch[i].topics)), keccak256(abi.encode(singles[i].topics)), "topics");
            vm.assertEq(batch[i].data, singles[i].data);
        }
        for (uint256 i = 0; i < size; ++i) {
            (uint8 laneA, uint40 atA) = registry.acknowledgement(items[i].id, items[i].version, UZ);
            (uint8 laneB, uint40 atB) = other.acknowledgement(items[i].id, items[i].version, UZ);
            vm.assertEq(laneA, laneB);
            vm.assertEq(atA, atB);
            vm.assertGt(laneA, 0);
        }
    }
}

contract DocumentRegistry_recordCheckpoint_Test is LifecycleTest {
    function test_fullItinerary() public {
        IDocumentRegistry.DocumentProof memory p = _p(1);
        vm.expectEmit(true, true, true, true, address(registry));
        emit IDocumentRegistry.TransitCheckpointRecorded(transit, KZ, DEPARTURE, 0);
        vm.prank(kz2);
        vm.assertEq(registry.recordCheckpoint(transit, DEPARTURE, p), 0);
        vm.assertEq(_state(transit).checkpointPosition, 1);
        vm.expectEmit(true, true, true, true, address(registry));
        emit IDocumentRegistry.TransitCheckpointRecorded(transit, KG, INCIDENT, 1);
        vm.assertEq(_checkpoint(kg1, 1, INCIDENT), 1);
        vm.assertEq(_state(transit).checkpointPosition, 1); // incidents do not advance
        vm.assertEq(_checkpoint(kg1, 1, TRANSIT_PASSED), 1);
        vm.assertEq(_checkpoint(uz1, 1, INCIDENT), 2);
        vm.assertEq(_checkpoint(kz1, 1, INCIDENT), 0);
        vm.expectEmit(true, true, true, true, address(registry));
        emit IDocumentRegistry.TransitCheckpointRecorded(transit, UZ, ARRIVAL, 2);
        vm.assertEq(_checkpoint(uz1, 1, ARRIVAL), 2);
        vm.assertEq(_state(transit).checkpointPosition, 3);
    }

    function test_twoEconomyItinerary() public {
        _checkpoint(kz1, 3, DEPARTURE);
        p3Reverts(
            kg1,
            TRANSIT_PASSED,
            abi.encodeWithSelector(
                IDocumentRegistry.RegistryCheckpointOutOfOrder.selector, shortTransit, TRANSIT_PASSED, 1
            )
        );
        _checkpoint(uz1, 3, ARRIVAL);
        vm.assertEq(_state(shortTransit).checkpointPosition, 2);
    }

    function p3Reverts(address node, uint8 kind, bytes memory err) internal {
        IDocumentRegistry.DocumentProof memory p = _p(3);
        vm.expectRevert(err);
        vm.prank(node);
        registry.recordCheckpoint(shortTransit, kind, p);
    }

    function _expectOutOfOrder(address node, uint8 kind, uint8 position) internal {
        IDocumentRegistry.DocumentProof memory p = _p(1);
        vm.expectRevert(
            abi.encodeWithSelector(IDocumentRegistry.RegistryCheckpointOutOfOrder.selector, transit, kind, position)
        );
        vm.prank(node);
        registry.recordCheckpoint(transit, kind, p);
    }

    function _expectWrongEconomy(address node, uint8 kind, bytes2 expected, bytes2 caller) internal {
        IDocumentRegistry.DocumentProof memory p = _p(1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDocumentRegistry.RegistryWrongCheckpointEconomy.selector, transit, kind, expected, caller
            )
        );
        vm.prank(node);
        registry.recordCheckpoint(transit, kind, p);
    }

    function test_enforcesOrder() public {
        _expectOutOfOrder(kg1, TRANSIT_PASSED, 0);
        _expectOutOfOrder(uz1, ARRIVAL, 0);
        _expectOutOfOrder(kg1, INCIDENT, 0);
        _expectWrongEconomy(kg1, DEPARTURE, KZ, KG);
        _checkpoint(kz1, 1, DEPARTURE);
        _expectOutOfOrder(kz1, DEPARTURE, 1);
        _expectOutOfOrder(uz1, ARRIVAL, 1); // KG not passed yet
        _expectWrongEconomy(uz1, TRANSIT_PASSED, KG, UZ);
        _checkpoint(kg1, 1, TRANSIT_PASSED);
        _expectOutOfOrder(kg1, TRANSIT_PASSED, 2);
        _expectWrongEconomy(kg1, ARRIVAL, UZ, KG);
        _checkpoint(uz1, 1, ARRIVAL);
        _expectOutOfOrder(uz1, ARRIVAL, 3);
        _expectOutOfOrder(uz1, INCIDENT, 3); // after arrival
    }

    function test_revertsOffItinerary() public {
        _checkpoint(kz1, 1, DEPARTURE);
        IDocumentRegistry.DocumentProof memory p = _p(1);
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryNotOnItinerary.selector, transit, CN));
        vm.prank(cn1);
        registry.recordCheckpoint(transit, INCIDENT, p);
    }

    function test_revertsForNonTransit() public {
        IDocumentRegistry.DocumentProof memory p = _p(0);
        vm.expectRevert(
            abi.encodeWithSelector(IDocumentRegistry.RegistryNotTransitDeclaration.selector, manifest, MANIFEST)
        );
        vm.prank(kz1);
        registry.recordCheckpoint(manifest, DEPARTURE, p);
    }

    function testFuzz_revertsOnUnknownKind(uint8 kind) public {
        vm.assume(kind == 0 || kind > 4);
        IDocumentRegistry.DocumentProof memory p = _p(1);
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryUnknownCheckpointKind.selector, kind));
        vm.prank(kz1);
        registry.recordCheckpoint(transit, kind, p);
    }

    function test_revertsOnRevokedDeclaration() public {
        IDocumentRegistry.DocumentProof memory p = _p(1);
        vm.prank(kz1);
        registry.revoke(transit, 7, p);
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryDocumentRevoked.selector, transit));
        vm.prank(kz1);
        registry.recordCheckpoint(transit, DEPARTURE, p);
    }

    function test_revertsOnBadProof() public {
        IDocumentRegistry.DocumentProof memory p = _p(3);
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryInvalidProof.selector, transit));
        vm.prank(kz1);
        registry.recordCheckpoint(transit, DEPARTURE, p);
    }

    /// @dev Any sequence of attempts leaves the progress monotone and within the itinerary.
    function testFuzz_progressOnlyMovesForward(uint256 seed) public {
        address[4] memory nodes = [kz1, kg1, uz1, cn1];
        uint8 last;
        for (uint256 i = 0; i < 12; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            IDocumentRegistry.DocumentProof memory p = _p(1);
            vm.prank(nodes[r % 4]);
            try registry.recordCheckpoint(transit, uint8(1 + (r >> 8) % 4), p) {} catch {}
            uint8 now_ = _state(transit).checkpointPosition;
            vm.assertGe(now_, last);
            vm.assertLe(now_, 3);
            last = now_;
        }
    }
}
