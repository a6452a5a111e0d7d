// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Vm} from "./Vm.sol";
import {TestMerkle} from "./TestMerkle.sol";
import {Consortium} from "../../src/Consortium.sol";
import {DocumentRegistry} from "../../src/DocumentRegistry.sol";
import {AeoRegistry} from "../../src/AeoRegistry.sol";
import {IConsortium} from "../../src/interfaces/IConsortium.sol";
import {IDocumentRegistry} from "../../src/interfaces/IDocumentRegistry.sol";

Vm constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

/// @notice Helpers without fixtures (shared by tests and invariant handlers).
abstract contract TestHelpers {
    bytes2 internal constant KZ = "KZ";
    bytes2 internal constant UZ = "UZ";
    bytes2 internal constant KG = "KG";
    bytes2 internal constant CN = "CN";
    bytes2 internal constant TJ = "TJ";

    uint8 internal constant MANIFEST = 1;
    uint8 internal constant TRANSIT = 2;
    uint8 internal constant ORIGIN = 3;

    uint8 internal constant DEPARTURE = 1;
    uint8 internal constant TRANSIT_PASSED = 2;
    uint8 internal constant ARRIVAL = 3;
    uint8 internal constant INCIDENT = 4;

    /// @notice A document as the tests describe it, before packing.
    struct Doc {
        uint8 docType;
        bytes32 commitment;
        bytes32 payloadDigest;
        bytes2[] destinations;
        bytes32[] links;
    }

    function _addr(string memory name) internal pure returns (address) {
        return address(uint160(uint256(keccak256(bytes(name)))));
    }

    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        if (max <= min) return min;
        uint256 size = max - min + 1;
        if (x >= min && x <= max) return x;
        return min + (x % size);
    }

    // ---- records ---------------------------------------------------------------------------------

    function _pack(Doc memory d) internal pure returns (bytes memory r) {
        r = abi.encodePacked(d.docType, d.commitment, d.payloadDigest, uint8(d.destinations.length));
        for (uint256 i = 0; i < d.destinations.length; ++i) {
            r = bytes.concat(r, d.destinations[i]);
        }
        r = bytes.concat(r, bytes1(uint8(d.links.length)));
        for (uint256 i = 0; i < d.links.length; ++i) {
            r = bytes.concat(r, d.links[i]);
        }
    }

    function _doc(uint8 docType, bytes2[] memory destinations, uint256 salt) internal pure returns (Doc memory d) {
        d.docType = docType;
        d.commitment = keccak256(abi.encode("commitment", salt));
        // Any 32 bytes stand for the sha2-256 digest (sha256 is a precompile CALL, which would
        // consume a pending vm.prank or vm.expectRevert).
        d.payloadDigest = keccak256(abi.encode("payload", salt));
        d.destinations = destinations;
        d.links = new bytes32[](0);
    }

    function _record(uint8 docType, bytes2 destination, uint256 salt) internal pure returns (bytes memory) {
        return _pack(_doc(docType, _list(destination), salt));
    }

    function _list(bytes2 a) internal pure returns (bytes2[] memory l) {
        l = new bytes2[](1);
        l[0] = a;
    }

    function _list(bytes2 a, bytes2 b) internal pure returns (bytes2[] memory l) {
        l = new bytes2[](2);
        (l[0], l[1]) = (a, b);
    }

    function _list(bytes2 a, bytes2 b, bytes2 c) internal pure returns (bytes2[] memory l) {
        l = new bytes2[](3);
        (l[0], l[1], l[2]) = (a, b, c);
    }

    function _list(bytes2 a, bytes2 b, bytes2 c, bytes2 d) internal pure returns (bytes2[] memory l) {
        l = new bytes2[](4);
        (l[0], l[1], l[2], l[3]) = (a, b, c, d);
    }

    /// @notice Concatenates records with one allocation (bytes.concat in a loop is quadratic).
    function _concat(bytes[] memory records) internal pure returns (bytes memory out) {
        uint256 total;
        for (uint256 i = 0; i < records.length; ++i) {
            total += records[i].length;
        }
        out = new bytes(total);
        uint256 offset;
        for (uint256 i = 0; i < records.length; ++i) {
            bytes memory r = records[i];
            assembly ("memory-safe") {
                mcopy(add(add(out, 0x20), offset), add(r, 0x20), mload(r))
            }
            offset += r.length;
        }
    }

    function _id(bytes2 economy, uint8 docType, uint64 serial) internal pure returns (bytes32) {
        return bytes32((uint256(uint16(economy)) << 240) | (uint256(docType) << 232) | uint256(serial));
    }

    function _leaf(bytes32 id, bytes memory record) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(id, record));
    }

    /// @notice Ids and leaves of a batch as the tests compute them.
    function _leaves(bytes2 economy, uint64 firstSerial, bytes[] memory records)
        internal
        pure
        returns (bytes32[] memory ids, bytes32[] memory leaves)
    {
        ids = new bytes32[](records.length);
        leaves = new bytes32[](records.length);
        for (uint256 i = 0; i < records.length; ++i) {
            ids[i] = _id(economy, uint8(records[i][0]), firstSerial + uint64(i));
            leaves[i] = _leaf(ids[i], records[i]);
        }
    }

    function _proof(bytes32 batchKey, bytes[] memory records, bytes32[] memory leaves, uint256 index)
        internal
        pure
        returns (IDocumentRegistry.DocumentProof memory p)
    {
        p.batchKey = batchKey;
        p.record = records[index];
        p.proof = TestMerkle.proof(leaves, index);
    }

    function _singleProof(bytes32 id, bytes memory record)
        internal
        pure
        returns (IDocumentRegistry.DocumentProof memory p)
    {
        p.batchKey = id;
        p.record = record;
        p.proof = new bytes32[](0);
    }
}

/// @notice Shared fixture: four founding members (KZ with two node accounts, UZ, KG, CN), a
/// quorum of 66.67 % (3 of 4 votes), a 7-day voting period, and both registries.
abstract contract BaseTest is TestHelpers {
    /// ds-test style log events: forge prints them with -vv.
    event log_named_uint(string key, uint256 val);

    uint16 internal constant QUORUM_BPS = 6667;
    uint64 internal constant VOTING_PERIOD = 7 days;

    Consortium internal consortium;
    DocumentRegistry internal registry;
    AeoRegistry internal aeo;

    address internal kz1 = _addr("KZ node 1");
    address internal kz2 = _addr("KZ node 2");
    address internal uz1 = _addr("UZ node 1");
    address internal kg1 = _addr("KG node 1");
    address internal cn1 = _addr("CN node 1");
    address internal outsider = _addr("outsider");

    bytes32 internal constant KZ_KEY = keccak256("KZ x25519 v1");
    bytes32 internal constant UZ_KEY = keccak256("UZ x25519 v1");
    bytes32 internal constant KG_KEY = keccak256("KG x25519 v1");
    bytes32 internal constant CN_KEY = keccak256("CN x25519 v1");

    function setUp() public virtual {
        vm.warp(1_750_000_000);
        consortium = new Consortium(_founders(), QUORUM_BPS, VOTING_PERIOD);
        registry = new DocumentRegistry(consortium);
        aeo = new AeoRegistry(consortium);
        vm.label(address(consortium), "Consortium");
        vm.label(address(registry), "DocumentRegistry");
        vm.label(address(aeo), "AeoRegistry");
    }

    function _founders() internal view returns (IConsortium.FoundingMember[] memory f) {
        f = new IConsortium.FoundingMember[](4);
        address[] memory kzAccounts = new address[](2);
        (kzAccounts[0], kzAccounts[1]) = (kz1, kz2);
        f[0] = IConsortium.FoundingMember(KZ, KZ_KEY, kzAccounts);
        f[1] = IConsortium.FoundingMember(UZ, UZ_KEY, _accounts(uz1));
        f[2] = IConsortium.FoundingMember(KG, KG_KEY, _accounts(kg1));
        f[3] = IConsortium.FoundingMember(CN, CN_KEY, _accounts(cn1));
    }

    function _accounts(address a) internal pure returns (address[] memory l) {
        l = new address[](1);
        l[0] = a;
    }

    function _accounts(address a, address b) internal pure returns (address[] memory l) {
        l = new address[](2);
        (l[0], l[1]) = (a, b);
    }

    function _nodeOf(bytes2 economy) internal view returns (address) {
        if (economy == KZ) return kz1;
        if (economy == UZ) return uz1;
        if (economy == KG) return kg1;
        return cn1;
    }

    // ---- registry shortcuts ----------------------------------------------------------------------

    function _anchorOne(address node, uint64 serial, bytes memory record)
        internal
        returns (bytes32 id, IDocumentRegistry.DocumentProof memory p)
    {
        vm.prank(node);
        id = registry.anchor(serial, 0, record);
        p = _singleProof(id, record);
    }

    /// @notice Anchors `records` as one batch and returns everything needed to prove them.
    function _anchorBatch(address node, uint64 firstSerial, bytes[] memory records)
        internal
        returns (bytes32 batchKey, bytes32[] memory ids, bytes32[] memory leaves)
    {
        vm.prank(node);
        (batchKey,) = registry.anchorBatch(firstSerial, 0, _concat(records));
        (ids, leaves) = _leaves(consortium.economyOf(node), firstSerial, records);
    }

    /// @notice Passes a proposal already created by `proposer`'s economy with yes votes of the
    /// given accounts (in order).
    function _voteYes(uint256 proposalId, address[] memory voters) internal {
        for (uint256 i = 0; i < voters.length; ++i) {
            vm.prank(voters[i]);
            consortium.vote(proposalId, true);
        }
    }
}
