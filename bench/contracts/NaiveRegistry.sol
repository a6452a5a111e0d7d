// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title NaiveRegistry — benchmark baseline only, never deployed in production.
/// @notice The obvious design: one transaction per document, the full record in contract
/// storage (commitment, payload digest, issuer, submitter, type, version, status, time,
/// destinations, links), duplicate check by storage lookup. `anchorBatchStorageDedup` measures
/// the middle way: the same per-document event as the real registry, plus one storage write per
/// document for an on-chain duplicate check.
contract NaiveRegistry {
    struct Record {
        bytes32 commitment;
        bytes32 payloadDigest;
        bytes2 issuer;
        address submitter;
        uint8 docType;
        uint32 version;
        uint8 status;
        uint64 anchoredAt;
        bytes2[] destinations;
        bytes32[] links;
    }

    error NaiveDuplicate(bytes32 id);

    mapping(bytes32 => Record) private _records;
    mapping(bytes32 => bool) private _seen;

    event Anchored(bytes32 indexed id, uint8 indexed docType, bytes2 indexed destination);
    event DocumentAnchored(
        bytes32 indexed id, uint8 indexed docType, bytes2 indexed destination, bytes32 commitment, bytes32 payloadDigest
    );

    function anchorFull(
        bytes32 id,
        uint8 docType,
        bytes32 commitment,
        bytes32 payloadDigest,
        bytes2[] calldata destinations,
        bytes32[] calldata links
    ) external {
        Record storage r = _records[id];
        if (r.anchoredAt != 0) revert NaiveDuplicate(id);
        r.commitment = commitment;
        r.payloadDigest = payloadDigest;
        r.issuer = bytes2(id);
        r.submitter = msg.sender;
        r.docType = docType;
        r.version = 1;
        r.status = 1;
        r.anchoredAt = uint64(block.timestamp);
        r.destinations = destinations;
        r.links = links;
        for (uint256 i = 0; i < destinations.length; ++i) {
            emit Anchored(id, docType, destinations[i]);
        }
    }

    function anchorBatchStorageDedup(
        bytes32[] calldata ids,
        bytes32[] calldata commitments,
        bytes32[] calldata payloadDigests,
        bytes2[] calldata destinations
    ) external {
        for (uint256 i = 0; i < ids.length; ++i) {
            if (_seen[ids[i]]) revert NaiveDuplicate(ids[i]);
            _seen[ids[i]] = true;
            emit DocumentAnchored(ids[i], uint8(ids[i][2]), destinations[i], commitments[i], payloadDigests[i]);
        }
    }
}
