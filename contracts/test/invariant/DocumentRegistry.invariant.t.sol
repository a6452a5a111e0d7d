// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {BaseTest, TestHelpers, vm} from "../utils/BaseTest.sol";
import {TestMerkle} from "../utils/TestMerkle.sol";
import {DocumentRegistry} from "../../src/DocumentRegistry.sol";
import {IDocumentRegistry} from "../../src/interfaces/IDocumentRegistry.sol";

/// @notice Drives the registry with random callers (members and an outsider) and random
/// operations on the documents anchored so far. It keeps a ghost model updated ONLY from calls
/// that succeeded, and flags any success that breaks a rule.
contract RegistryHandler is TestHelpers {
    struct Tracked {
        bytes32 id;
        bytes32 batchKey;
        bytes record;
        bytes32[] proof;
        bytes2[] destinations;
        uint32 version;
        bool revoked;
        uint8 progress;
    }

    DocumentRegistry public immutable registry;
    address[] internal actors;
    bytes2[] internal economies; // economies[i] is actors[i]'s (0 for the outsider)

    Tracked[] internal docs;
    mapping(bytes2 => uint64) internal usedSerials; // serials 1..usedSerials[e] are used

    bool public nonIssuerChanged;
    bool public movedBackward;
    bool public foreignAcknowledgement;
    bool public duplicateAccepted;
    bool public outsiderWrote;
    bool public revokedChanged;
    uint256 public successes;
    uint256 public batchSuccesses;

    constructor(DocumentRegistry registry_, address[] memory actors_, bytes2[] memory economies_) {
        registry = registry_;
        actors = actors_;
        economies = economies_;
    }

    // ---- views for the invariants -------------------------------------------------------------

    function docCount() external view returns (uint256) {
        return docs.length;
    }

    function doc(uint256 i)
        external
        view
        returns (bytes32 id, bytes2[] memory destinations, uint32 version, bool revoked, uint8 progress)
    {
        Tracked storage t = docs[i];
        return (t.id, t.destinations, t.version, t.revoked, t.progress);
    }

    function allEconomies() external view returns (bytes2[] memory) {
        return economies;
    }

    // ---- actions ---------------------------------------------------------------------------------

    function anchorBatch(uint256 actorSeed, uint256 seed, uint8 size) external {
        (address actor, bytes2 economy) = _actor(actorSeed);
        uint256 n = 1 + size % 4;
        bytes[] memory records = new bytes[](n);
        for (uint256 i = 0; i < n; ++i) {
            records[i] = _pack(_shape(uint256(keccak256(abi.encode(seed, i))), economy));
        }
        bool reuse = usedSerials[economy] != 0 && seed % 8 == 0;
        uint64 first = reuse ? usedSerials[economy] : usedSerials[economy] + 1;
        bytes memory packed = _concat(records);
        vm.prank(actor);
        try registry.anchorBatch(first, 0, packed) returns (bytes32 batchKey, bytes32) {
            ++successes;
            if (economy == 0) outsiderWrote = true;
            if (reuse) duplicateAccepted = true;
            usedSerials[economy] = first + uint64(n) - 1;
            (bytes32[] memory ids, bytes32[] memory leaves) = _leaves(economy, first, records);
            for (uint256 i = 0; i < n; ++i) {
                Tracked storage t = docs.push();
                t.id = ids[i];
                t.batchKey = batchKey;
                t.record = records[i];
                t.proof = TestMerkle.proof(leaves, i);
                t.destinations = _destinationsOf(records[i]);
                t.version = 1;
            }
        } catch {}
    }

    function amend(uint256 actorSeed, uint256 docSeed, bytes32 commitment) external {
        if (docs.length == 0) return;
        Tracked storage t = docs[docSeed % docs.length];
        (address actor, bytes2 economy) = _actor(actorSeed);
        IDocumentRegistry.DocumentState memory before = registry.documentState(t.id);
        IDocumentRegistry.DocumentProof memory p = _proofOf(t);
        vm.prank(actor);
        try registry.amend(t.id, commitment, commitment, p) returns (uint32 version) {
            ++successes;
            if (economy != bytes2(t.id)) nonIssuerChanged = true;
            if (t.revoked) revokedChanged = true;
            t.version = version;
        } catch {}
        _checkForward(t, before);
    }

    function revoke(uint256 actorSeed, uint256 docSeed, uint16 reason) external {
        if (docs.length == 0) return;
        Tracked storage t = docs[docSeed % docs.length];
        (address actor, bytes2 economy) = _actor(actorSeed);
        IDocumentRegistry.DocumentState memory before = registry.documentState(t.id);
        IDocumentRegistry.DocumentProof memory p = _proofOf(t);
        vm.prank(actor);
        try registry.revoke(t.id, reason, p) {
            ++successes;
            if (economy != bytes2(t.id)) nonIssuerChanged = true;
            if (t.revoked) revokedChanged = true;
            t.revoked = true;
        } catch {}
        _checkForward(t, before);
    }

    function acknowledge(uint256 actorSeed, uint256 docSeed, uint32 versionSeed, uint8 lane) external {
        if (docs.length == 0) return;
        Tracked storage t = docs[docSeed % docs.length];
        (address actor, bytes2 economy) = _actor(actorSeed);
        uint32 version = uint32(versionSeed % (uint256(t.version) + 2)); // 0 and current+1 included
        IDocumentRegistry.DocumentState memory before = registry.documentState(t.id);
        IDocumentRegistry.DocumentProof memory p = _proofOf(t);
        vm.prank(actor);
        try registry.acknowledge(t.id, version, lane % 5, "reasons", 0, p) {
            ++successes;
            if (!_isDestination(t, economy)) foreignAcknowledgement = true;
            if (t.revoked) revokedChanged = true;
        } catch {}
        _checkForward(t, before);
    }

    /// @dev One to three tracked documents acknowledged in one call. Half of the calls aim at
    /// documents the actor may acknowledge (it is a destination; current version; a valid lane),
    /// so that batches do succeed; the others pick any documents, versions and lanes. Any item may
    /// break a rule or repeat an earlier acknowledgement: then the whole call must revert.
    function acknowledgeBatch(uint256 actorSeed, uint256 docSeed, uint8 sizeSeed, uint32 versionSeed, uint8 lane)
        external
    {
        if (docs.length == 0) return;
        (address actor, bytes2 economy) = _actor(actorSeed);
        bool aimed = sizeSeed & 0x80 == 0;
        uint256 size = 1 + sizeSeed % 3;
        uint256[] memory picked = new uint256[](size);
        IDocumentRegistry.AcknowledgementItem[] memory items = new IDocumentRegistry.AcknowledgementItem[](size);
        IDocumentRegistry.DocumentState[] memory before = new IDocumentRegistry.DocumentState[](size);
        uint256 j = docSeed;
        for (uint256 i = 0; i < size; ++i) {
            for (uint256 tries = 0; aimed && tries < docs.length; ++tries) {
                if (_isDestination(docs[j % docs.length], economy)) break;
                ++j;
            }
            picked[i] = j % docs.length;
            Tracked storage t = docs[picked[i]];
            // forge-lint: disable-next-line(unsafe-typecast) (< t.version + 2)
            uint32 version = aimed ? t.version : uint32((uint256(versionSeed) + i) % (uint256(t.version) + 2));
            uint8 itemLane = aimed ? 1 + lane % 3 : lane % 5;
            items[i] = IDocumentRegistry.AcknowledgementItem(t.id, version, itemLane, "reasons", 0, _proofOf(t));
            before[i] = registry.documentState(t.id);
            ++j;
        }
        vm.prank(actor);
        try registry.acknowledgeBatch(items) {
            ++successes;
            ++batchSuccesses;
            for (uint256 i = 0; i < size; ++i) {
                Tracked storage t = docs[picked[i]];
                if (!_isDestination(t, economy)) foreignAcknowledgement = true;
                if (t.revoked) revokedChanged = true;
            }
        } catch {}
        for (uint256 i = 0; i < size; ++i) {
            _checkForward(docs[picked[i]], before[i]);
        }
    }

    function recordCheckpoint(uint256 actorSeed, uint256 docSeed, uint8 kind) external {
        if (docs.length == 0) return;
        Tracked storage t = docs[docSeed % docs.length];
        (address actor, bytes2 economy) = _actor(actorSeed);
        uint256 n = t.destinations.length;
        uint8 checkpoint = 1 + kind % 4;
        // Mostly play the expected next step by the economy whose turn it is, so that runs reach
        // deep itineraries; otherwise a random kind by a random caller.
        if (kind % 8 < 6 && t.progress < n) {
            checkpoint = t.progress == 0 ? 1 : (t.progress + 1 < n ? 2 : 3);
            for (uint256 i = 0; i < economies.length; ++i) {
                if (economies[i] == t.destinations[t.progress]) (actor, economy) = (actors[i], economies[i]);
            }
        }
        IDocumentRegistry.DocumentState memory before = registry.documentState(t.id);
        IDocumentRegistry.DocumentProof memory p = _proofOf(t);
        vm.prank(actor);
        try registry.recordCheckpoint(t.id, checkpoint, p) {
            ++successes;
            if (!_isDestination(t, economy)) foreignAcknowledgement = true; // only itinerary economies
            if (t.revoked) revokedChanged = true;
            t.progress = registry.documentState(t.id).checkpointPosition;
        } catch {}
        _checkForward(t, before);
    }

    // ---- helpers -------------------------------------------------------------------------------

    function _actor(uint256 seed) internal view returns (address, bytes2) {
        uint256 i = seed % actors.length;
        return (actors[i], economies[i]);
    }

    function _shape(uint256 seed, bytes2 issuer) internal pure returns (Doc memory d) {
        bytes2[5] memory pool = [bytes2("KZ"), "UZ", "KG", "CN", "TJ"];
        uint256 kind = seed % 4;
        if (kind == 0) return _doc(MANIFEST, _list(pool[(seed >> 8) % 5]), seed);
        if (kind == 1) return _doc(ORIGIN, _list(pool[(seed >> 8) % 4], pool[(seed >> 16) % 4]), seed);
        uint256 n = 2 + (seed >> 24) % 3;
        bytes2[] memory itinerary = new bytes2[](n);
        itinerary[0] = issuer == 0 ? bytes2("KZ") : issuer;
        for (uint256 i = 1; i < n; ++i) {
            itinerary[i] = pool[((seed >> 32) + i) % 4];
        }
        d = _doc(TRANSIT, itinerary, seed);
        if (kind == 3) {
            d.links = new bytes32[](1);
            d.links[0] = bytes32(seed);
        }
    }

    function _destinationsOf(bytes memory record) internal pure returns (bytes2[] memory list) {
        list = new bytes2[](uint8(record[65]));
        for (uint256 i = 0; i < list.length; ++i) {
            list[i] = bytes2(abi.encodePacked(record[66 + 2 * i], record[67 + 2 * i]));
        }
    }

    function _isDestination(Tracked storage t, bytes2 economy) internal view returns (bool) {
        for (uint256 i = 0; i < t.destinations.length; ++i) {
            if (t.destinations[i] == economy) return true;
        }
        return false;
    }

    function _proofOf(Tracked storage t) internal view returns (IDocumentRegistry.DocumentProof memory p) {
        p.batchKey = t.batchKey;
        p.record = t.record;
        p.proof = t.proof;
    }

    function _checkForward(Tracked storage t, IDocumentRegistry.DocumentState memory before) internal {
        IDocumentRegistry.DocumentState memory a = registry.documentState(t.id);
        uint32 vBefore = before.materialized ? before.version : 1;
        uint32 vAfter = a.materialized ? a.version : 1;
        if (vAfter < vBefore) movedBackward = true;
        if (a.checkpointPosition < before.checkpointPosition) movedBackward = true;
        if (before.status == 2 && a.status != 2) movedBackward = true;
        if (before.materialized && !a.materialized) movedBackward = true;
    }
}

abstract contract RegistryInvariantBase is BaseTest {
    RegistryHandler internal handler;

    function setUp() public override {
        super.setUp();
        address[] memory actors = new address[](5);
        bytes2[] memory economies = new bytes2[](5);
        (actors[0], actors[1], actors[2], actors[3], actors[4]) = (kz1, uz1, kg1, cn1, outsider);
        (economies[0], economies[1], economies[2], economies[3], economies[4]) = (KZ, UZ, KG, CN, bytes2(0));
        handler = new RegistryHandler(registry, actors, economies);
    }
}

contract DocumentRegistry_invariant_Test is RegistryInvariantBase {
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @notice Only the issuing economy changes a document (amend, revoke); the on-chain version
    /// and status equal the model built from the issuer's successful calls only. Also: no
    /// outsider anchors and a used serial is never accepted again (ids stay unique).
    function invariant_onlyIssuerChangesDocuments() public view {
        vm.assertFalse(handler.nonIssuerChanged(), "a non-issuer changed a document");
        vm.assertFalse(handler.outsiderWrote(), "an outsider anchored");
        vm.assertFalse(handler.duplicateAccepted(), "a used serial was accepted again");
        uint256 n = handler.docCount();
        for (uint256 i = 0; i < n; ++i) {
            (bytes32 id,, uint32 version, bool revoked,) = handler.doc(i);
            IDocumentRegistry.DocumentState memory s = registry.documentState(id);
            vm.assertEq(s.materialized ? s.version : 1, version, "version");
            vm.assertEq(s.status == 2, revoked, "status");
        }
    }

    /// @notice Versions, status and transit checkpoints only move forward; nothing changes after
    /// revocation; the checkpoint progress stays within the itinerary.
    function invariant_versionsAndCheckpointsOnlyMoveForward() public view {
        vm.assertFalse(handler.movedBackward(), "state moved backward");
        vm.assertFalse(handler.revokedChanged(), "a revoked document changed");
        uint256 n = handler.docCount();
        for (uint256 i = 0; i < n; ++i) {
            (bytes32 id, bytes2[] memory destinations,,, uint8 progress) = handler.doc(i);
            IDocumentRegistry.DocumentState memory s = registry.documentState(id);
            vm.assertEq(s.checkpointPosition, progress);
            vm.assertLe(s.checkpointPosition, destinations.length);
        }
    }

    /// @notice Acknowledgements (single or batched, and checkpoints) come only from the document's
    /// destinations.
    function invariant_acknowledgementsOnlyFromDestinations() public view {
        vm.assertFalse(handler.foreignAcknowledgement(), "acknowledged by a non-destination");
        bytes2[] memory economies = handler.allEconomies();
        uint256 n = handler.docCount();
        for (uint256 i = 0; i < n; ++i) {
            (bytes32 id, bytes2[] memory destinations, uint32 version,,) = handler.doc(i);
            for (uint32 v = 0; v <= version + 1; ++v) {
                for (uint256 e = 0; e < economies.length; ++e) {
                    (uint8 lane,) = registry.acknowledgement(id, v, economies[e]);
                    if (lane == 0) continue;
                    bool found;
                    for (uint256 d = 0; d < destinations.length; ++d) {
                        found = found || destinations[d] == economies[e];
                    }
                    vm.assertTrue(found, "acknowledgement from a non-destination");
                    vm.assertTrue(v >= 1 && v <= version, "acknowledged version does not exist");
                }
            }
        }
    }
}

contract DocumentRegistry_handlerCoverage_Test is RegistryInvariantBase {
    /// @dev Sanity check of the handler itself: random calls do reach every kind of success.
    function test_handlerReachesDeepStates() public {
        for (uint256 i = 0; i < 200; ++i) {
            uint256 r = uint256(keccak256(abi.encode(i)));
            uint256 action = r % 5;
            if (action == 0 || i < 5) {
                handler.anchorBatch(r >> 8, r >> 16, uint8(r >> 24));
            } else if (action == 1) {
                handler.amend(r >> 8, r >> 16, bytes32(r));
            } else if (action == 2 && r % 3 == 0) {
                handler.revoke(r >> 8, r >> 16, uint16(r));
            } else if (action == 3 && r % 2 == 0) {
                handler.acknowledge(r >> 8, r >> 16, uint32(r >> 32), uint8(r >> 64));
            } else if (action == 3) {
                handler.acknowledgeBatch(r >> 8, r >> 16, uint8(r >> 24), uint32(r >> 32), uint8(r >> 64));
            } else {
                handler.recordCheckpoint(r >> 8, r >> 16, uint8(r >> 24));
            }
        }
        uint256 amended;
        uint256 revoked;
        uint256 moved;
        uint256 n = handler.docCount();
        for (uint256 i = 0; i < n; ++i) {
            (,, uint32 version, bool isRevoked, uint8 progress) = handler.doc(i);
            if (version > 1) ++amended;
            if (isRevoked) ++revoked;
            if (progress > 1) ++moved;
        }
        emit log_named_uint("documents", n);
        emit log_named_uint("successful calls", handler.successes());
        emit log_named_uint("amended", amended);
        emit log_named_uint("revoked", revoked);
        emit log_named_uint("past departure", moved);
        emit log_named_uint("acknowledgement batches", handler.batchSuccesses());
        vm.assertGt(amended, 0);
        vm.assertGt(revoked, 0);
        vm.assertGt(moved, 0);
        vm.assertGt(handler.batchSuccesses(), 0);
        vm.assertFalse(handler.nonIssuerChanged() || handler.movedBackward() || handler.foreignAcknowledgement());
        vm.assertFalse(handler.duplicateAccepted() || handler.outsiderWrote() || handler.revokedChanged());
    }
}
