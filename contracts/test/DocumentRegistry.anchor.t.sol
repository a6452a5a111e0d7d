// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {BaseTest, vm} from "./utils/BaseTest.sol";
import {Vm} from "./utils/Vm.sol";
import {TestMerkle} from "./utils/TestMerkle.sol";
import {IConsortium} from "../src/interfaces/IConsortium.sol";
import {IDocumentRegistry} from "../src/interfaces/IDocumentRegistry.sol";
import {DocumentRegistry} from "../src/DocumentRegistry.sol";

/// @notice Record generators shared by the anchoring tests.
abstract contract AnchorTest is BaseTest {
    /// @dev n records of the common shape (manifests and certificates of origin to UZ).
    function _commonRecords(uint256 n, uint256 salt) internal pure returns (bytes[] memory records) {
        records = new bytes[](n);
        for (uint256 i = 0; i < n; ++i) {
            records[i] = _record(i % 2 == 0 ? MANIFEST : ORIGIN, UZ, salt + i);
        }
    }

    /// @dev A record whose shape is drawn from `seed`: common, several destinations, links, transit.
    function _randomDoc(uint256 seed) internal pure returns (Doc memory d) {
        uint256 shape = seed % 5;
        bytes2[4] memory pool = [UZ, KG, CN, TJ];
        if (shape <= 1) return _doc(shape == 0 ? MANIFEST : ORIGIN, _list(pool[(seed >> 8) % 4]), seed);
        uint256 destinations = 2 + ((seed >> 16) % 3);
        bytes2[] memory list = new bytes2[](destinations);
        for (uint256 i = 0; i < destinations; ++i) {
            list[i] = pool[((seed >> 24) + i) % 4];
        }
        d = _doc(shape == 2 ? TRANSIT : (shape == 3 ? MANIFEST : ORIGIN), list, seed);
        if (shape == 4 || (seed >> 32) % 2 == 1) {
            d.links = new bytes32[](1 + (seed >> 40) % 3);
            for (uint256 i = 0; i < d.links.length; ++i) {
                d.links[i] = keccak256(abi.encode(seed, i));
            }
        }
    }

    function _str(uint256 x) internal pure returns (string memory) {
        if (x == 0) return "0";
        bytes memory b;
        while (x != 0) {
            b = bytes.concat(bytes1(uint8(48 + (x % 10))), b);
            x /= 10;
        }
        return string(b);
    }
}

contract DocumentRegistry_constructor_Test is AnchorTest {
    function test_storesConsortium() public view {
        vm.assertEq(registry.consortium(), address(consortium));
    }

    function test_constantsMatchTheSharedConventions() public view {
        vm.assertEq(registry.PRE_ARRIVAL_MANIFEST(), 1);
        vm.assertEq(registry.TRANSIT_DECLARATION(), 2);
        vm.assertEq(registry.CERTIFICATE_OF_ORIGIN(), 3);
        vm.assertEq(registry.LANE_GREEN(), 1);
        vm.assertEq(registry.LANE_YELLOW(), 2);
        vm.assertEq(registry.LANE_RED(), 3);
        vm.assertEq(registry.CHECKPOINT_DEPARTURE(), 1);
        vm.assertEq(registry.CHECKPOINT_TRANSIT_PASSED(), 2);
        vm.assertEq(registry.CHECKPOINT_ARRIVAL(), 3);
        vm.assertEq(registry.CHECKPOINT_INCIDENT(), 4);
        vm.assertEq(registry.STATUS_ACTIVE(), 1);
        vm.assertEq(registry.STATUS_REVOKED(), 2);
    }

    function test_revertsWithoutCode() public {
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryInvalidConsortium.selector, outsider));
        new DocumentRegistry(IConsortium(outsider));
    }

    /// @dev The anchor path logs with literal topics; they must be the events' selectors.
    function test_assemblyTopicsMatchEvents() public {
        Doc memory d = _doc(MANIFEST, _list(UZ), 1);
        d.links = new bytes32[](1);
        d.links[0] = bytes32(uint256(7));
        vm.recordLogs();
        vm.prank(kz1);
        registry.anchor(1, 0, _pack(d));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        vm.assertEq(logs.length, 3);
        vm.assertEq(logs[0].topics[0], IDocumentRegistry.DocumentAnchored.selector);
        vm.assertEq(logs[1].topics[0], IDocumentRegistry.DocumentLinked.selector);
        vm.assertEq(logs[2].topics[0], IDocumentRegistry.BatchAnchored.selector);
    }
}

contract DocumentRegistry_anchorBatch_Test is AnchorTest {
    function test_rootEqualsIndependentTree() public {
        uint256[10] memory sizes = [uint256(1), 2, 3, 5, 8, 9, 16, 17, 33, 100];
        for (uint256 k = 0; k < sizes.length; ++k) {
            uint256 n = sizes[k];
            bytes[] memory records = _commonRecords(n, n * 1000);
            uint64 first = uint64(n * 1000);
            (bytes32 batchKey, bytes32[] memory ids, bytes32[] memory leaves) = _anchorBatch(kz1, first, records);
            vm.assertEq(batchKey, ids[0]);
            vm.assertEq(registry.batchRoot(batchKey), TestMerkle.root(leaves), string.concat("root n=", _str(n)));
            for (uint256 i = 0; i < n; ++i) {
                vm.assertTrue(registry.verifyDocument(ids[i], _proof(batchKey, records, leaves, i)));
            }
        }
    }

    /// @dev Mixed shapes exercise the pair path, the general path and their join.
    function testFuzz_rootAndEventsForMixedShapes(uint256 seed, uint8 size) public {
        uint256 n = bound(size, 1, 24);
        bytes[] memory records = new bytes[](n);
        Doc[] memory docs = new Doc[](n);
        for (uint256 i = 0; i < n; ++i) {
            docs[i] = _randomDoc(uint256(keccak256(abi.encode(seed, i))));
            records[i] = _pack(docs[i]);
        }
        uint64 first = uint64(bound(seed, 0, type(uint64).max - n));
        vm.recordLogs();
        (bytes32 batchKey, bytes32[] memory ids, bytes32[] memory leaves) = _anchorBatch(uz1, first, records);
        vm.assertEq(registry.batchRoot(batchKey), TestMerkle.root(leaves));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 cursor = 0;
        for (uint256 i = 0; i < n; ++i) {
            for (uint256 j = 0; j < docs[i].destinations.length; ++j) {
                Vm.Log memory l = logs[cursor++];
                vm.assertEq(l.topics[0], IDocumentRegistry.DocumentAnchored.selector);
                vm.assertEq(l.topics[1], ids[i]);
                vm.assertEq(uint256(l.topics[2]), docs[i].docType);
                vm.assertEq(l.topics[3], bytes32(docs[i].destinations[j]));
                vm.assertEq(l.data, abi.encode(docs[i].commitment, docs[i].payloadDigest));
            }
            for (uint256 j = 0; j < docs[i].links.length; ++j) {
                Vm.Log memory l = logs[cursor++];
                vm.assertEq(l.topics[0], IDocumentRegistry.DocumentLinked.selector);
                vm.assertEq(l.topics[1], ids[i]);
                vm.assertEq(l.topics[2], docs[i].links[j]);
            }
        }
        vm.assertEq(logs.length, cursor + 1);
        vm.assertEq(logs[cursor].topics[0], IDocumentRegistry.BatchAnchored.selector);
        uint256 proven = seed % n;
        vm.assertTrue(registry.verifyDocument(ids[proven], _proof(batchKey, records, leaves, proven)));
    }

    /// @dev Fixed vector shared with the off-chain client (also computed in Python with eth_utils).
    function test_knownVector() public {
        bytes[] memory records = new bytes[](3);
        records[0] = _pack(Doc(MANIFEST, bytes32(uint256(1)), bytes32(uint256(2)), _list(UZ), new bytes32[](0)));
        records[1] = _pack(Doc(TRANSIT, bytes32(uint256(3)), bytes32(uint256(4)), _list(KZ, KG, UZ), new bytes32[](0)));
        bytes32[] memory links = new bytes32[](1);
        links[0] = _id(KZ, MANIFEST, 5);
        records[2] = _pack(Doc(ORIGIN, bytes32(uint256(5)), bytes32(uint256(6)), _list(CN, UZ), links));
        vm.prank(kz1);
        (bytes32 batchKey, bytes32 root) = registry.anchorBatch(5, 0, _concat(records));
        vm.assertEq(batchKey, 0x4b5a010000000000000000000000000000000000000000000000000000000005);
        vm.assertEq(root, KNOWN_ROOT);
    }

    /// @dev Computed in Python (eth_utils.keccak, sorted pairs, odd node carried up).
    bytes32 internal constant KNOWN_ROOT = 0xe48f0af7e15e7f177106c012a2368534d917b6b0062b8bb0babb24b990d51817;

    function test_emitsEventsInOrder() public {
        Doc memory d = _doc(MANIFEST, _list(UZ, KG), 9);
        d.links = new bytes32[](2);
        d.links[0] = bytes32(uint256(11));
        d.links[1] = bytes32(uint256(12));
        Doc memory d1 = _doc(ORIGIN, _list(CN), 10);
        bytes[] memory records = new bytes[](2);
        records[0] = _pack(d);
        records[1] = _pack(d1);
        bytes32 id0 = _id(KZ, MANIFEST, 40);
        bytes32 id1 = _id(KZ, ORIGIN, 41);
        (, bytes32[] memory leaves) = _leaves(KZ, 40, records);

        vm.expectEmit(true, true, true, true, address(registry));
        emit IDocumentRegistry.DocumentAnchored(id0, MANIFEST, UZ, d.commitment, d.payloadDigest);
        vm.expectEmit(true, true, true, true, address(registry));
        emit IDocumentRegistry.DocumentAnchored(id0, MANIFEST, KG, d.commitment, d.payloadDigest);
        vm.expectEmit(true, true, true, true, address(registry));
        emit IDocumentRegistry.DocumentLinked(id0, bytes32(uint256(11)));
        vm.expectEmit(true, true, true, true, address(registry));
        emit IDocumentRegistry.DocumentLinked(id0, bytes32(uint256(12)));
        vm.expectEmit(true, true, true, true, address(registry));
        emit IDocumentRegistry.DocumentAnchored(id1, ORIGIN, CN, d1.commitment, d1.payloadDigest);
        vm.expectEmit(true, true, true, true, address(registry));
        emit IDocumentRegistry.BatchAnchored(id0, KZ, kz1, 0, 40, 2, TestMerkle.root(leaves));
        vm.prank(kz1);
        registry.anchorBatch(40, 0, _concat(records));
    }

    function test_idsAreInTheSendersNamespace() public {
        (bytes32 batchKey,,) = _anchorBatch(cn1, 77, _commonRecords(2, 0));
        (bytes2 economy, uint8 docType, uint64 serial) = registry.parseDocumentId(batchKey);
        vm.assertTrue(economy == CN);
        vm.assertEq(docType, MANIFEST);
        vm.assertEq(serial, 77);
        vm.assertTrue(registry.isSerialUsed(CN, 78));
        vm.assertFalse(registry.isSerialUsed(KZ, 78));
    }

    function test_acceptsActiveAuthority() public {
        vm.prank(kz1);
        consortium.registerAuthority("chamber", _addr("chamber"));
        vm.prank(kz2);
        (bytes32 batchKey,) = registry.anchorBatch(1, "chamber", _concat(_commonRecords(1, 0)));
        vm.assertNotEq(registry.batchRoot(batchKey), bytes32(0));
    }

    function test_revertsOnForeignOrRevokedAuthority() public {
        vm.prank(uz1);
        consortium.registerAuthority("chamber", _addr("chamber"));
        bytes memory records = _concat(_commonRecords(1, 0));
        vm.expectRevert(
            abi.encodeWithSelector(IDocumentRegistry.RegistryUnknownAuthority.selector, KZ, bytes32("chamber"))
        );
        vm.prank(kz1);
        registry.anchorBatch(1, "chamber", records);
        vm.prank(uz1);
        consortium.revokeAuthority("chamber");
        vm.expectRevert(
            abi.encodeWithSelector(IDocumentRegistry.RegistryUnknownAuthority.selector, UZ, bytes32("chamber"))
        );
        vm.prank(uz1);
        registry.anchorBatch(1, "chamber", records);
    }

    function test_revertsForNonMembers() public {
        bytes memory records = _concat(_commonRecords(1, 0));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, outsider));
        vm.prank(outsider);
        registry.anchorBatch(1, 0, records);
        vm.prank(kz1);
        uint256 id = consortium.proposeSuspendMember(CN);
        vm.prank(uz1);
        consortium.vote(id, true);
        vm.prank(kg1);
        consortium.vote(id, true);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, cn1));
        vm.prank(cn1);
        registry.anchorBatch(1, 0, records);
    }

    function test_revertsOnEmptyBatch() public {
        vm.expectRevert(IDocumentRegistry.RegistryEmptyBatch.selector);
        vm.prank(kz1);
        registry.anchorBatch(1, 0, "");
    }

    function test_revertsOnTruncatedRecord() public {
        bytes memory good = _record(MANIFEST, UZ, 1);
        for (uint256 cut = 1; cut < 69; cut += 17) {
            bytes memory truncated = new bytes(69 - cut);
            for (uint256 i = 0; i < truncated.length; ++i) {
                truncated[i] = good[i];
            }
            vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryMalformedRecord.selector, 69));
            vm.prank(kz1);
            registry.anchorBatch(1, 0, bytes.concat(good, truncated));
        }
        // A record announcing a link it does not carry.
        Doc memory d = _doc(MANIFEST, _list(UZ), 2);
        d.links = new bytes32[](1);
        bytes memory linked = _pack(d);
        bytes memory cut32 = new bytes(linked.length - 32);
        for (uint256 i = 0; i < cut32.length; ++i) {
            cut32[i] = linked[i];
        }
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryMalformedRecord.selector, 138));
        vm.prank(kz1);
        registry.anchorBatch(1, 0, bytes.concat(good, good, cut32));
    }

    function test_revertsOnTrailingByte() public {
        bytes memory good = _record(MANIFEST, UZ, 1);
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryMalformedRecord.selector, 138));
        vm.prank(kz1);
        registry.anchorBatch(1, 0, bytes.concat(good, good, hex"01"));
    }

    function test_revertsWithoutDestination() public {
        Doc memory d = _doc(MANIFEST, new bytes2[](0), 1);
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryMalformedRecord.selector, 69));
        vm.prank(kz1);
        registry.anchorBatch(1, 0, bytes.concat(_record(ORIGIN, UZ, 0), _pack(d)));
    }

    function testFuzz_revertsOnUnknownType(uint8 docType, uint8 position) public {
        vm.assume(docType == 0 || docType > 3);
        uint256 n = bound(position, 0, 4) + 1;
        bytes[] memory records = _commonRecords(n, 3);
        records[n - 1][0] = bytes1(docType);
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryUnknownDocumentType.selector, docType));
        vm.prank(kz1);
        registry.anchorBatch(1, 0, _concat(records));
    }

    function test_revertsOnOneEconomyItinerary() public {
        bytes memory transit = _pack(_doc(TRANSIT, _list(KZ), 1));
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryItineraryTooShort.selector, 69, 1));
        vm.prank(kz1);
        registry.anchorBatch(1, 0, bytes.concat(_record(MANIFEST, UZ, 0), transit));
    }

    function test_revertsOnSerialOverflow() public {
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistrySerialOverflow.selector, type(uint64).max, 2));
        vm.prank(kz1);
        registry.anchorBatch(type(uint64).max, 0, _concat(_commonRecords(2, 0)));
        vm.prank(kz1);
        registry.anchorBatch(type(uint64).max, 0, _concat(_commonRecords(1, 0)));
        vm.assertTrue(registry.isSerialUsed(KZ, type(uint64).max));
    }

    function test_revertsOnRepeatedBatch() public {
        bytes memory records = _concat(_commonRecords(3, 0));
        vm.prank(kz1);
        registry.anchorBatch(10, 0, records);
        vm.expectRevert(
            abi.encodeWithSelector(IDocumentRegistry.RegistryDuplicateDocument.selector, _id(KZ, MANIFEST, 10))
        );
        vm.prank(kz2);
        registry.anchorBatch(10, 0, records);
    }

    /// @dev A serial is used once per economy whatever the document type.
    function test_serialIsPerEconomyNotPerType() public {
        vm.prank(kz1);
        registry.anchor(10, 0, _record(MANIFEST, UZ, 0));
        vm.expectRevert(
            abi.encodeWithSelector(IDocumentRegistry.RegistryDuplicateDocument.selector, _id(KZ, ORIGIN, 10))
        );
        vm.prank(kz1);
        registry.anchor(10, 0, _record(ORIGIN, UZ, 1));
        vm.prank(uz1); // another economy's namespace
        registry.anchor(10, 0, _record(ORIGIN, KZ, 1));
    }

    /// @dev Full words go to the summary level; singles and partial words must still collide.
    function test_detectsClashesAcrossBitmapLevels() public {
        vm.prank(kz1);
        registry.anchorBatch(256, 0, _concat(_commonRecords(512, 0))); // words 1 and 2, full
        vm.assertTrue(registry.isSerialUsed(KZ, 256) && registry.isSerialUsed(KZ, 767));
        vm.assertFalse(registry.isSerialUsed(KZ, 255) || registry.isSerialUsed(KZ, 768));
        vm.expectRevert(
            abi.encodeWithSelector(IDocumentRegistry.RegistryDuplicateDocument.selector, _id(KZ, ORIGIN, 300))
        );
        vm.prank(kz1);
        registry.anchor(300, 0, _record(ORIGIN, UZ, 0));
        vm.expectRevert(
            abi.encodeWithSelector(IDocumentRegistry.RegistryDuplicateDocument.selector, _id(KZ, MANIFEST, 256))
        );
        vm.prank(kz1);
        registry.anchorBatch(200, 0, _concat(_commonRecords(57, 0))); // 200..256
        vm.prank(kz1);
        registry.anchor(1000, 0, _record(ORIGIN, UZ, 0)); // word 3, partial
        vm.expectRevert(
            abi.encodeWithSelector(IDocumentRegistry.RegistryDuplicateDocument.selector, _id(KZ, MANIFEST, 1000))
        );
        vm.prank(kz1);
        registry.anchorBatch(768, 0, _concat(_commonRecords(256, 0))); // word 3, full
    }

    function testFuzz_duplicateDetection(uint64 first1, uint16 n1, uint64 first2, uint16 n2) public {
        uint256 count1 = bound(n1, 1, 300);
        uint256 count2 = bound(n2, 1, 300);
        first1 = uint64(bound(first1, 0, 2000));
        first2 = uint64(bound(first2, 0, 2000));
        vm.prank(kz1);
        registry.anchorBatch(first1, 0, _concat(_commonRecords(count1, 1)));
        uint256 last1 = first1 + count1 - 1;
        uint256 last2 = first2 + count2 - 1;
        bool overlap = first2 <= last1 && first1 <= last2;
        if (overlap) {
            uint256 clash = first1 > first2 ? first1 : first2;
            uint8 docType = (clash - first2) % 2 == 0 ? MANIFEST : ORIGIN;
            vm.expectRevert(
                abi.encodeWithSelector(
                    IDocumentRegistry.RegistryDuplicateDocument.selector, _id(KZ, docType, uint64(clash))
                )
            );
        }
        vm.prank(kz2);
        registry.anchorBatch(first2, 0, _concat(_commonRecords(count2, 2)));
        uint64 probe = uint64(bound(uint256(keccak256(abi.encode(first1, first2))), 0, 2400));
        bool used = (probe >= first1 && probe <= last1) || (!overlap && probe >= first2 && probe <= last2);
        vm.assertEq(registry.isSerialUsed(KZ, probe), used);
    }

    /// @dev Random singles and batches over ~5 bitmap words against a plain boolean model.
    function testFuzz_bitmapMatchesModel(uint256 seed) public {
        bool[] memory used = new bool[](1400);
        for (uint256 step = 0; step < 6; ++step) {
            uint256 r = uint256(keccak256(abi.encode(seed, step)));
            uint256 first = r % 1100;
            uint256 count = (r >> 64) % 3 == 0 ? 1 : 1 + (r >> 128) % 300;
            uint256 clash = type(uint256).max;
            for (uint256 s = first; s < first + count; ++s) {
                if (used[s]) {
                    clash = s;
                    break;
                }
            }
            bytes[] memory records = _commonRecords(count, r);
            if (clash != type(uint256).max) {
                uint8 docType = (clash - first) % 2 == 0 ? MANIFEST : ORIGIN;
                vm.expectRevert(
                    abi.encodeWithSelector(
                        IDocumentRegistry.RegistryDuplicateDocument.selector, _id(KZ, docType, uint64(clash))
                    )
                );
            }
            vm.prank(kz1);
            if (count == 1) registry.anchor(uint64(first), 0, records[0]);
            else registry.anchorBatch(uint64(first), 0, _concat(records));
            if (clash == type(uint256).max) {
                for (uint256 s = first; s < first + count; ++s) {
                    used[s] = true;
                }
            }
        }
        for (uint256 s = 0; s < 1400; s += 1 + (seed % 5)) {
            vm.assertEq(registry.isSerialUsed(KZ, uint64(s)), used[s]);
        }
    }

    function test_gas_batches() public {
        uint256[4] memory sizes = [uint256(1), 10, 100, 1000];
        for (uint256 k = 0; k < sizes.length; ++k) {
            uint256 n = sizes[k];
            bytes memory packed = _concat(_commonRecords(n, 7));
            vm.prank(kz1);
            uint256 before = gasleft();
            registry.anchorBatch(uint64(100_000 * (k + 1)), 0, packed);
            uint256 used = before - gasleft();
            emit log_named_uint(string.concat("anchorBatch execution gas (no intrinsic/calldata), n=", _str(n)), used);
            emit log_named_uint("  per document", used / n);
        }
    }
}

contract DocumentRegistry_anchor_Test is AnchorTest {
    function testFuzz_anchorsOneDocument(uint64 serial, bytes32 commitment, bytes32 payloadDigest) public {
        bytes memory record = _pack(Doc(ORIGIN, commitment, payloadDigest, _list(CN), new bytes32[](0)));
        bytes32 id = _id(KZ, ORIGIN, serial);
        bytes32 leaf = _leaf(id, record);
        vm.expectEmit(true, true, true, true, address(registry));
        emit IDocumentRegistry.DocumentAnchored(id, ORIGIN, CN, commitment, payloadDigest);
        vm.expectEmit(true, true, true, true, address(registry));
        emit IDocumentRegistry.BatchAnchored(id, KZ, kz1, 0, serial, 1, leaf);
        vm.prank(kz1);
        vm.assertEq(registry.anchor(serial, 0, record), id);
        vm.assertEq(registry.batchRoot(id), leaf);
        vm.assertTrue(registry.isSerialUsed(KZ, serial));
        vm.assertTrue(registry.verifyDocument(id, _singleProof(id, record)));
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryDuplicateDocument.selector, id));
        vm.prank(kz2);
        registry.anchor(serial, 0, record);
    }

    function test_anchorsGeneralShape() public {
        Doc memory d = _doc(TRANSIT, _list(KZ, KG, UZ), 5);
        d.links = new bytes32[](1);
        d.links[0] = _id(KZ, MANIFEST, 1);
        bytes memory record = _pack(d);
        vm.prank(kz1);
        bytes32 id = registry.anchor(2, 0, record);
        vm.assertEq(registry.batchRoot(id), _leaf(id, record));
    }

    function test_revertsOnEmptyOrSeveralRecords() public {
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryMalformedRecord.selector, 0));
        vm.prank(kz1);
        registry.anchor(1, 0, "");
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryMalformedRecord.selector, 69));
        vm.prank(kz1);
        registry.anchor(1, 0, _concat(_commonRecords(2, 0)));
    }

    function test_revertsOnBadRecordAuthorityOrCaller() public {
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryUnknownDocumentType.selector, 9));
        vm.prank(kz1);
        registry.anchor(1, 0, bytes.concat(bytes1(uint8(9)), new bytes(68)));
        vm.expectRevert(abi.encodeWithSelector(IDocumentRegistry.RegistryUnknownAuthority.selector, KZ, bytes32("x")));
        vm.prank(kz1);
        registry.anchor(1, "x", _record(MANIFEST, UZ, 0));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, outsider));
        vm.prank(outsider);
        registry.anchor(1, 0, _record(MANIFEST, UZ, 0));
    }

    function test_gas_single() public {
        bytes memory record = _record(MANIFEST, UZ, 1);
        vm.prank(kz1);
        registry.anchor(1, 0, record); // warm the bitmap word as a steady-state node would
        record = _record(MANIFEST, UZ, 2);
        vm.prank(kz1);
        uint256 before = gasleft();
        registry.anchor(2, 0, record);
        emit log_named_uint("anchor execution gas (no intrinsic/calldata)", before - gasleft());
    }
}

contract DocumentRegistry_views_Test is AnchorTest {
    function testFuzz_documentIdRoundTrip(bytes2 economy, uint8 docType, uint64 serial) public view {
        bytes32 id = registry.documentId(economy, docType, serial);
        vm.assertEq(id, _id(economy, docType, serial));
        (bytes2 e, uint8 t, uint64 s) = registry.parseDocumentId(id);
        vm.assertTrue(e == economy);
        vm.assertEq(t, docType);
        vm.assertEq(s, serial);
    }

    function test_documentIdLayout() public view {
        vm.assertEq(
            registry.documentId("KZ", 2, 0x0102030405060708),
            0x4b5a020000000000000000000000000000000000000000000102030405060708
        );
    }

    function testFuzz_unusedSerialsAndBatches(bytes2 economy, uint64 serial, bytes32 batchKey) public view {
        vm.assertFalse(registry.isSerialUsed(economy, serial));
        vm.assertEq(registry.batchRoot(batchKey), bytes32(0));
        IDocumentRegistry.DocumentState memory s = registry.documentState(batchKey);
        vm.assertFalse(s.materialized);
        (uint8 lane, uint40 acknowledgedAt) = registry.acknowledgement(batchKey, 1, economy);
        vm.assertEq(lane, 0);
        vm.assertEq(acknowledgedAt, 0);
    }

    function test_verifyDocumentRejectsBadProofs() public {
        bytes[] memory records = _commonRecords(4, 0);
        (bytes32 batchKey, bytes32[] memory ids, bytes32[] memory leaves) = _anchorBatch(kz1, 1, records);
        IDocumentRegistry.DocumentProof memory p = _proof(batchKey, records, leaves, 2);
        vm.assertTrue(registry.verifyDocument(ids[2], p));
        vm.assertFalse(registry.verifyDocument(ids[1], p)); // wrong id
        p.batchKey = bytes32(uint256(1));
        vm.assertFalse(registry.verifyDocument(ids[2], p)); // unknown batch
        p.batchKey = batchKey;
        p.record = records[3];
        vm.assertFalse(registry.verifyDocument(ids[2], p)); // wrong record
        p.record = hex"01";
        vm.assertFalse(registry.verifyDocument(ids[2], p)); // malformed record
        // An inner node cannot pass for a document: its "record" would be 32 bytes.
        IDocumentRegistry.DocumentProof memory inner;
        inner.batchKey = batchKey;
        (bytes32 lo, bytes32 hi) = leaves[2] < leaves[3] ? (leaves[2], leaves[3]) : (leaves[3], leaves[2]);
        inner.record = abi.encodePacked(hi);
        inner.proof = new bytes32[](1);
        inner.proof[0] = TestMerkle.proof(leaves, 0)[1];
        vm.assertFalse(registry.verifyDocument(lo, inner));
    }
}
