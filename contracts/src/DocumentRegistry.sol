// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IConsortium} from "./interfaces/IConsortium.sol";
import {IDocumentRegistry} from "./interfaces/IDocumentRegistry.sol";

/// @title DocumentRegistry
/// @notice Anchors trade documents of the consortium's members and records their lifecycle.
///
/// Gas is the design constraint of the anchor path: a batch stores ONE slot (its Merkle root) plus
/// the serial bitmap words it touches (256 serials per slot; a word that the batch uses entirely
/// is recorded as one bit of a summary word instead, so 1000 contiguous serials write about three
/// slots); everything else about a document lives in its events and in the calldata that the root
/// commits to. No per-document storage is written when anchoring.
///
/// Trade-off of the serial bitmap (gas vs trust): on chain we guarantee ONE record per document id
/// (a serial is used once per economy, whatever the document type), but not one id per business
/// reference (e.g. per manifest number): mapping references to serials is the issuing node's duty,
/// kept in its database, with the chain as the audit trail (every anchor is an event carrying the
/// commitment, so a reference anchored twice under two serials is visible to every destination).
/// Indexing references on chain would cost a 22,100-gas slot per document.
///
/// Later operations (amend, revoke, acknowledge, checkpoint) prove the document with a
/// `DocumentProof` against the stored root; the first one that needs state writes one small
/// per-document slot (version, status, checkpoint progress, timestamps). Destinations and type
/// come from the proven record every time, so they cannot change.
///
/// Permissions: every write needs `consortium.activeEconomyOf(msg.sender)` (a node account of an
/// ACTIVE member). The document's economy is part of its id, computed on chain from the sender's
/// economy: a member can only create or change ids in its own namespace.
contract DocumentRegistry is IDocumentRegistry {
    /// @notice Document type: pre-arrival manifest (anyone may read the constants).
    uint8 public constant PRE_ARRIVAL_MANIFEST = 1;
    /// @notice Document type: transit declaration (destinations = itinerary, at least two).
    uint8 public constant TRANSIT_DECLARATION = 2;
    /// @notice Document type: certificate of origin.
    uint8 public constant CERTIFICATE_OF_ORIGIN = 3;

    /// @notice Risk lane: green (release).
    uint8 public constant LANE_GREEN = 1;
    /// @notice Risk lane: yellow (document check).
    uint8 public constant LANE_YELLOW = 2;
    /// @notice Risk lane: red (physical inspection).
    uint8 public constant LANE_RED = 3;

    /// @notice Checkpoint: departure, by itinerary[0], first.
    uint8 public constant CHECKPOINT_DEPARTURE = 1;
    /// @notice Checkpoint: transit passed, by the next economy in order.
    uint8 public constant CHECKPOINT_TRANSIT_PASSED = 2;
    /// @notice Checkpoint: arrival, by the last economy, after all transit passages.
    uint8 public constant CHECKPOINT_ARRIVAL = 3;
    /// @notice Checkpoint: incident, by any itinerary economy between departure and arrival.
    uint8 public constant CHECKPOINT_INCIDENT = 4;

    /// @notice Document status: active.
    uint8 public constant STATUS_ACTIVE = 1;
    /// @notice Document status: revoked (terminal).
    uint8 public constant STATUS_REVOKED = 2;

    /// @dev docType (1) + commitment (32) + payloadDigest (32) + destinationCount (1).
    uint256 private constant _RECORD_HEADER = 66;
    /// @dev Header + one destination (2) + linkCount (1).
    uint256 private constant _MIN_RECORD_LENGTH = 69;

    /// @dev Topics of DocumentAnchored and DocumentLinked as literals, for the assembly anchor path
    /// (a stack variable would not fit there); a test pins them to the events' selectors.
    bytes32 private constant _DOCUMENT_ANCHORED_TOPIC =
        0x00bfc622407abba00d5aad60e2d32846387d152fe96b87cb256cf76b682662aa;
    bytes32 private constant _DOCUMENT_LINKED_TOPIC =
        0x5af9ac5ce7ecc9fd583227e8a54961d50927378efa6e226d2e63ae7449384d63;

    uint256 private constant _PARSE_OK = 0;
    uint256 private constant _PARSE_MALFORMED = 1;
    uint256 private constant _PARSE_UNKNOWN_TYPE = 2;
    uint256 private constant _PARSE_SHORT_ITINERARY = 3;

    IConsortium private immutable _consortium;

    /// @dev Serial bitmaps of one economy. A serial s is used iff bit (s & 0xff) of
    /// `words[s >> 8]` is set, or bit ((s >> 8) & 0xff) of `fullWords[s >> 16]` is set. The second
    /// level records the 256-serial words that ONE batch used entirely, so that a batch of 1000
    /// contiguous serials writes its two edge words and one summary word instead of ~4 fresh
    /// words (it still reads the words it covers, to find serials used before).
    struct SerialBitmap {
        mapping(uint256 word => uint256 bits) words;
        mapping(uint256 summary => uint256 bits) fullWords;
    }

    mapping(bytes2 economy => SerialBitmap) private _serials;
    mapping(bytes32 batchKey => bytes32 root) private _batchRoots;
    mapping(bytes32 id => DocumentState) private _documents;
    mapping(bytes32 id => mapping(uint32 version => mapping(bytes2 economy => Acknowledgement))) private _acks;

    /// @dev OpenAttestation issuance, per issuing economy (an economy's DocumentStore facade reads
    /// only its own maps): batch root -> issue time, and revoked hash -> revocation time.
    mapping(bytes2 economy => mapping(bytes32 root => uint40 issuedAt)) private _oaIssued;
    mapping(bytes2 economy => mapping(bytes32 hash => uint40 revokedAt)) private _oaRevoked;

    /// @param consortium_ The Consortium contract whose active members may write (immutable).
    /// @dev Reverts with `RegistryInvalidConsortium` if `consortium_` has no code.
    constructor(IConsortium consortium_) {
        if (address(consortium_).code.length == 0) revert RegistryInvalidConsortium(address(consortium_));
        _consortium = consortium_;
    }

    // =============================================================================================
    // Anchoring
    // =============================================================================================

    /// @inheritdoc IDocumentRegistry
    function anchorBatch(uint64 firstSerial, bytes32 authorityId, bytes calldata records)
        external
        returns (bytes32 batchKey, bytes32 root)
    {
        bytes2 issuer = _authorize(authorityId);
        if (records.length == 0) revert RegistryEmptyBatch();
        uint256 count;
        (root, count) = _anchorRecords(_idBase(issuer, firstSerial), records);
        batchKey = _documentId(issuer, uint8(records[0]), firstSerial);
        _markSerials(issuer, firstSerial, count, records);
        _batchRoots[batchKey] = root;
        // forge-lint: disable-next-line(unsafe-typecast) (count <= calldata length / 69)
        emit BatchAnchored(batchKey, issuer, msg.sender, authorityId, firstSerial, uint32(count), root);
    }

    /// @inheritdoc IDocumentRegistry
    function anchor(uint64 serial, bytes32 authorityId, bytes calldata record) external returns (bytes32 id) {
        bytes2 issuer = _authorize(authorityId);
        if (record.length == 0) revert RegistryMalformedRecord(0);
        (bytes32 leaf, uint256 count) = _anchorRecords(_idBase(issuer, serial), record);
        id = _documentId(issuer, uint8(record[0]), serial);
        if (count != 1) revert RegistryMalformedRecord(_recordEnd(record, 0));
        _markSerial(issuer, serial, id);
        _batchRoots[id] = leaf;
        emit BatchAnchored(id, issuer, msg.sender, authorityId, serial, 1, leaf);
    }

    // =============================================================================================
    // Lifecycle
    // =============================================================================================

    /// @inheritdoc IDocumentRegistry
    function amend(bytes32 id, bytes32 commitment, bytes32 payloadDigest, DocumentProof calldata proof)
        external
        returns (uint32 version)
    {
        _requireIssuer(id);
        (uint8 docType, uint256 destinationCount) = _requireProof(id, proof);
        DocumentState storage s = _materialize(id, docType);
        if (s.status == STATUS_REVOKED) revert RegistryDocumentRevoked(id);
        version = s.version + 1;
        s.version = version;
        s.updatedAt = uint40(block.timestamp);
        bytes calldata record = proof.record;
        for (uint256 i = 0; i < destinationCount; ++i) {
            emit DocumentAmended(id, docType, _destinationAt(record, i), version, commitment, payloadDigest);
        }
    }

    /// @inheritdoc IDocumentRegistry
    function revoke(bytes32 id, uint16 reasonCode, DocumentProof calldata proof) external {
        _requireIssuer(id);
        (uint8 docType, uint256 destinationCount) = _requireProof(id, proof);
        DocumentState storage s = _materialize(id, docType);
        if (s.status == STATUS_REVOKED) revert RegistryDocumentRevoked(id);
        s.status = STATUS_REVOKED;
        s.revocationReason = reasonCode;
        s.revokedAt = uint40(block.timestamp);
        s.updatedAt = uint40(block.timestamp);
        bytes calldata record = proof.record;
        for (uint256 i = 0; i < destinationCount; ++i) {
            emit DocumentRevoked(id, docType, _destinationAt(record, i), reasonCode);
        }
    }

    /// @inheritdoc IDocumentRegistry
    function acknowledge(
        bytes32 id,
        uint32 version,
        uint8 lane,
        bytes32 reasonsCommitment,
        bytes32 reasonsDigest,
        DocumentProof calldata proof
    ) external {
        bytes2 acknowledger = _consortium.activeEconomyOf(msg.sender);
        _recordAcknowledgement(acknowledger, id, version, lane, proof);
        emit DocumentAcknowledged(id, _issuerOf(id), acknowledger, version, lane, reasonsCommitment, reasonsDigest);
    }

    /// @inheritdoc IDocumentRegistry
    function acknowledgeBatch(AcknowledgementItem[] calldata items) external {
        // One consortium call for the whole batch: it is the only external call of the path.
        bytes2 acknowledger = _consortium.activeEconomyOf(msg.sender);
        if (items.length == 0) revert RegistryEmptyBatch();
        for (uint256 i = 0; i < items.length; ++i) {
            AcknowledgementItem calldata item = items[i];
            bytes32 id = item.id;
            _recordAcknowledgement(acknowledger, id, item.version, item.lane, item.proof);
            emit DocumentAcknowledged(
                id, _issuerOf(id), acknowledger, item.version, item.lane, item.reasonsCommitment, item.reasonsDigest
            );
        }
    }

    /// @inheritdoc IDocumentRegistry
    function recordCheckpoint(bytes32 id, uint8 kind, DocumentProof calldata proof) external returns (uint8 position) {
        bytes2 caller = _consortium.activeEconomyOf(msg.sender);
        if (kind == 0 || kind > CHECKPOINT_INCIDENT) revert RegistryUnknownCheckpointKind(kind);
        (uint8 docType, uint256 n) = _requireProof(id, proof);
        if (docType != TRANSIT_DECLARATION) revert RegistryNotTransitDeclaration(id, docType);
        DocumentState storage s = _materialize(id, docType);
        if (s.status == STATUS_REVOKED) revert RegistryDocumentRevoked(id);
        bytes calldata itinerary = proof.record;
        // n <= 255 (a one-byte count), so every position below fits in uint8.
        uint8 progress = s.checkpointPosition;
        if (kind == CHECKPOINT_INCIDENT) {
            if (progress == 0 || progress >= n) revert RegistryCheckpointOutOfOrder(id, kind, progress);
            uint256 index = _itineraryIndex(itinerary, n, caller);
            if (index == n) revert RegistryNotOnItinerary(id, caller);
            // forge-lint: disable-next-line(unsafe-typecast) (index < n <= 255)
            position = uint8(index);
        } else {
            // DEPARTURE: progress 0 -> 1; TRANSIT_PASSED: k -> k+1 for k in [1, n-2]; ARRIVAL: n-1 -> n.
            bool inOrder = kind == CHECKPOINT_DEPARTURE
                ? progress == 0
                : kind == CHECKPOINT_TRANSIT_PASSED ? progress != 0 && progress + 1 < n : progress + 1 == n;
            if (!inOrder) revert RegistryCheckpointOutOfOrder(id, kind, progress);
            bytes2 expected = _destinationAt(itinerary, progress);
            if (caller != expected) revert RegistryWrongCheckpointEconomy(id, kind, expected, caller);
            position = progress;
            s.checkpointPosition = progress + 1;
        }
        s.updatedAt = uint40(block.timestamp);
        emit TransitCheckpointRecorded(id, caller, kind, position);
    }

    // =============================================================================================
    // OpenAttestation issuance (read by the per-economy OaDocumentStore facades)
    // =============================================================================================

    /// @inheritdoc IDocumentRegistry
    function issueOaRoot(bytes32 root) external {
        bytes2 economy = _consortium.activeEconomyOf(msg.sender);
        if (root == 0) revert RegistryOaZeroRoot();
        mapping(bytes32 => uint40) storage issued = _oaIssued[economy];
        if (issued[root] != 0) revert RegistryOaRootAlreadyIssued(economy, root);
        issued[root] = uint40(block.timestamp);
        emit OaRootIssued(economy, root, msg.sender);
    }

    /// @inheritdoc IDocumentRegistry
    function revokeOa(bytes32 root, bytes32 hash, bytes32[] calldata proof) external {
        bytes2 economy = _consortium.activeEconomyOf(msg.sender);
        if (_oaIssued[economy][root] == 0) revert RegistryOaRootNotIssued(economy, root);
        // OA nodes are keccak256(sorted pair), exactly OpenZeppelin's commutative hashing.
        if (MerkleProof.processProofCalldata(proof, hash) != root) revert RegistryOaHashNotInBatch(root, hash);
        mapping(bytes32 => uint40) storage revoked = _oaRevoked[economy];
        if (revoked[hash] != 0) revert RegistryOaAlreadyRevoked(economy, hash);
        revoked[hash] = uint40(block.timestamp);
        emit OaHashRevoked(economy, hash, root, msg.sender);
    }

    // =============================================================================================
    // Views
    // =============================================================================================

    /// @inheritdoc IDocumentRegistry
    function consortium() external view returns (address) {
        return address(_consortium);
    }

    /// @inheritdoc IDocumentRegistry
    function documentState(bytes32 id) external view returns (DocumentState memory) {
        return _documents[id];
    }

    /// @inheritdoc IDocumentRegistry
    function isSerialUsed(bytes2 economy, uint64 serial) external view returns (bool) {
        return _isUsed(_serials[economy], serial);
    }

    /// @inheritdoc IDocumentRegistry
    function batchRoot(bytes32 batchKey) external view returns (bytes32) {
        return _batchRoots[batchKey];
    }

    /// @inheritdoc IDocumentRegistry
    function acknowledgement(bytes32 id, uint32 version, bytes2 economy)
        external
        view
        returns (uint8 lane, uint40 acknowledgedAt)
    {
        Acknowledgement storage a = _acks[id][version][economy];
        return (a.lane, a.acknowledgedAt);
    }

    /// @inheritdoc IDocumentRegistry
    function verifyDocument(bytes32 id, DocumentProof calldata proof) external view returns (bool) {
        bytes32 root = _batchRoots[proof.batchKey];
        if (root == 0) return false;
        (uint256 code,,) = _recordShape(proof.record);
        if (code != _PARSE_OK) return false;
        return MerkleProof.verifyCalldata(proof.proof, root, _leaf(id, proof.record));
    }

    /// @inheritdoc IDocumentRegistry
    function oaIssuedAt(bytes2 economy, bytes32 root) external view returns (uint40) {
        return _oaIssued[economy][root];
    }

    /// @inheritdoc IDocumentRegistry
    function oaRevokedAt(bytes2 economy, bytes32 hash) external view returns (uint40) {
        return _oaRevoked[economy][hash];
    }

    /// @inheritdoc IDocumentRegistry
    function documentId(bytes2 economy, uint8 docType, uint64 serial) external pure returns (bytes32) {
        return _documentId(economy, docType, serial);
    }

    /// @inheritdoc IDocumentRegistry
    function parseDocumentId(bytes32 id) external pure returns (bytes2 economy, uint8 docType, uint64 serial) {
        // forge-lint: disable-next-line(unsafe-typecast) (the id's fields, truncation intended)
        return (_issuerOf(id), uint8(uint256(id) >> 232), uint64(uint256(id)));
    }

    // =============================================================================================
    // Internals: anchoring
    // =============================================================================================

    function _authorize(bytes32 authorityId) private view returns (bytes2 issuer) {
        issuer = _consortium.activeEconomyOf(msg.sender);
        if (authorityId != 0 && !_consortium.isAuthorityOf(issuer, authorityId)) {
            revert RegistryUnknownAuthority(issuer, authorityId);
        }
    }

    /// @dev One pass over the packed records: validates each record, emits its events, hashes its
    /// leaf, and builds the first level of the Merkle tree in temporary memory (past the free
    /// memory pointer), then folds it into the root in place. Returns the root and the record
    /// count. Reverts with the parse errors. Per-document events are emitted in this pass; the
    /// batch's storage writes follow in the same transaction.
    ///
    /// Gas layout (see README): consecutive pairs of records of the common shape (69 bytes: one
    /// destination, no link, not a transit) take a path that hashes the two leaves and their parent
    /// without touching memory for the leaves; any other record goes through the general parser,
    /// one record at a time, and its leaf is folded afterwards.
    /// `firstIdBase` is the first id without its type: `uint16(issuer) << 240 | firstSerial`.
    function _anchorRecords(uint256 firstIdBase, bytes calldata records) private returns (bytes32 root, uint256 count) {
        uint256 offset;
        assembly ("memory-safe") {
            // Pairs of common-shape records (69 bytes: one destination, no link, type 1 or 3) from
            // calldata position `p` while p <= last (= end - 138): logs both, writes
            // keccak(sorted(leafA, leafB)) at `lp` (advancing by 32). Leaves the final `p` at
            // scratch 0x00 and `lp` at 0x20. `topic` is DocumentAnchored's (a stack value: as a
            // literal used at four sites the optimizer would CODECOPY it).
            function pairs(p, last, lp, buf, idBase, topic) {
                for {} iszero(gt(p, last)) {} {
                    // Word at p+65 = A's destinationCount | destination | linkCount, then B's type:
                    // expect 0x01 ?? ?? 0x00 and B's type in {1, 3} (type & 0xfd == 1). Word at
                    // p+134 = B's shape; top byte at p = A's type.
                    if iszero(
                        and(
                            and(
                                eq(and(shr(216, calldataload(add(p, 65))), 0xff0000fffd), 0x0100000001),
                                eq(and(shr(224, calldataload(add(p, 134))), 0xff0000ff), 0x01000000)
                            ),
                            eq(and(shr(248, calldataload(p)), 0xfd), 1)
                        )
                    ) { break }
                    {
                        let docType := shr(248, calldataload(p))
                        let id := or(idBase, shl(232, docType))
                        mstore(buf, id)
                        calldatacopy(add(buf, 0x20), p, 69)
                        mstore(0x00, keccak256(buf, 101)) // leaf A, in scratch (stack is full)
                        log4(add(buf, 0x21), 0x40, topic, id, docType, shl(240, shr(232, calldataload(add(p, 65)))))
                    }
                    p := add(p, 69)
                    {
                        let docType := shr(248, calldataload(p))
                        let id := or(add(idBase, 1), shl(232, docType))
                        mstore(buf, id)
                        calldatacopy(add(buf, 0x20), p, 69)
                        log4(add(buf, 0x21), 0x40, topic, id, docType, shl(240, shr(232, calldataload(add(p, 65)))))
                    }
                    {
                        let a := mload(0x00)
                        let b := keccak256(buf, 101) // leaf B
                        let slot := shl(5, gt(a, b))
                        mstore(slot, a)
                        mstore(xor(slot, 0x20), b)
                    }
                    mstore(lp, keccak256(0x00, 0x40))
                    p := add(p, 69)
                    lp := add(lp, 0x20)
                    idBase := add(idBase, 2)
                }
                mstore(0x00, p)
                mstore(0x20, lp)
            }

            // Records one at a time from calldata position `p` (< end): checks the type and the
            // destination count with ONE branch, copies the record to `buf` after its id, writes
            // the leaf keccak256(id ‖ record) at `lp` (advancing by 32) and logs its events.
            // Bounds are checked once, by the caller, on the final position: the loop stops as
            // soon as p >= end, so a truncated last record ends with p > end and the whole call
            // reverts (its events with it); reads past `end` are harmless and bounded (a record is
            // at most 8,737 bytes). On a bad type/count it stops with `bad` = 1 and `p` at that
            // record. Leaves the final `p` at scratch 0x00 and `lp` at 0x20 (returning them would
            // not fit the stack).
            function parse(p, end, lp, buf, idBase) -> bad {
                for {} 1 {} {
                    let docType := shr(248, calldataload(p))
                    let id := or(idBase, shl(232, docType))
                    mstore(buf, id)
                    // Bytes 65..68: destinationCount | destination 0 | linkCount.
                    let w := shr(224, calldataload(add(p, 65)))
                    switch and(
                        // one destination and no link: the common 69-byte shape
                        eq(and(w, 0xff0000ff), 0x01000000),
                        // manifest or certificate of origin (a transit needs two destinations)
                        eq(or(docType, 2), 3)
                    )
                    case 1 {
                        calldatacopy(add(buf, 0x20), p, 69)
                        mstore(lp, keccak256(buf, 101))
                        log4(add(buf, 0x21), 0x40, _DOCUMENT_ANCHORED_TOPIC, id, docType, shl(240, shr(8, w)))
                        p := add(p, 69)
                    }
                    default {
                        w := shr(24, w) // destinationCount
                        if or(gt(sub(docType, 1), 2), lt(w, add(1, eq(docType, 2)))) {
                            bad := 1
                            break
                        }
                        let linkPos := add(add(p, 66), shl(1, w))
                        w := add(add(linkPos, 1), shl(5, shr(248, calldataload(linkPos)))) // record end
                        calldatacopy(add(buf, 0x20), p, sub(w, p))
                        mstore(lp, keccak256(buf, add(sub(w, p), 0x20)))
                        // Event data (commitment ‖ payloadDigest) in scratch space; at least one
                        // destination.
                        calldatacopy(0x00, add(p, 1), 0x40)
                        p := add(p, 66)
                        for {} 1 {} {
                            log4(0x00, 0x40, _DOCUMENT_ANCHORED_TOPIC, id, docType, shl(240, shr(240, calldataload(p))))
                            p := add(p, 2)
                            if eq(p, linkPos) { break }
                        }
                        for { p := add(p, 1) } lt(p, w) { p := add(p, 0x20) } {
                            log3(0, 0, _DOCUMENT_LINKED_TOPIC, id, calldataload(p))
                        }
                    }
                    lp := add(lp, 0x20)
                    idBase := add(idBase, 1)
                    if iszero(lt(p, end)) { break }
                }
                mstore(0x00, p)
                mstore(0x20, lp)
            }

            // Folds one level of `n` nodes at `level` in place: pairs left to right with the
            // sorted-pair keccak (OpenZeppelin Hashes.commutativeKeccak256: smaller value at 0x00,
            // larger at 0x20), an odd last node carried up unchanged. Returns the new count.
            // Four pairs per iteration, then the remaining ones.
            function fold(level, n) -> m {
                let src := level
                let dst := level
                let half := shr(1, n)
                for { let limit := add(level, shl(5, and(half, not(3)))) } lt(dst, limit) {} {
                    {
                        let a := mload(src)
                        let b := mload(add(src, 0x20))
                        let slot := shl(5, gt(a, b))
                        mstore(slot, a)
                        mstore(xor(slot, 0x20), b)
                        mstore(dst, keccak256(0x00, 0x40))
                    }
                    {
                        let a := mload(add(src, 0x40))
                        let b := mload(add(src, 0x60))
                        let slot := shl(5, gt(a, b))
                        mstore(slot, a)
                        mstore(xor(slot, 0x20), b)
                        mstore(add(dst, 0x20), keccak256(0x00, 0x40))
                    }
                    {
                        let a := mload(add(src, 0x80))
                        let b := mload(add(src, 0xa0))
                        let slot := shl(5, gt(a, b))
                        mstore(slot, a)
                        mstore(xor(slot, 0x20), b)
                        mstore(add(dst, 0x40), keccak256(0x00, 0x40))
                    }
                    {
                        let a := mload(add(src, 0xc0))
                        let b := mload(add(src, 0xe0))
                        let slot := shl(5, gt(a, b))
                        mstore(slot, a)
                        mstore(xor(slot, 0x20), b)
                        mstore(add(dst, 0x60), keccak256(0x00, 0x40))
                    }
                    src := add(src, 0x100)
                    dst := add(dst, 0x80)
                }
                for { let limit := add(level, shl(5, half)) } lt(dst, limit) {} {
                    {
                        let a := mload(src)
                        let b := mload(add(src, 0x20))
                        let slot := shl(5, gt(a, b))
                        mstore(slot, a)
                        mstore(xor(slot, 0x20), b)
                        mstore(dst, keccak256(0x00, 0x40))
                    }
                    src := add(src, 0x40)
                    dst := add(dst, 0x20)
                }
                if and(n, 1) { mstore(dst, mload(src)) }
                m := sub(n, half)
            }

            // Copy buffer first (id + the longest possible record: at most 8,737 bytes and at most
            // the whole input), then the nodes of level 1 (at most one per record).
            let buf := mload(0x40)
            let nodes := records.length
            if gt(nodes, 8737) { nodes := 8737 }
            nodes := add(buf, and(add(nodes, 0x3f), not(0x1f)))

            // 1. Leading pairs of common-shape records: parents (level 1) at nodes[0..k).
            let p := records.offset
            let lp := nodes
            if iszero(lt(records.length, 138)) {
                pairs(p, add(p, sub(records.length, 138)), nodes, buf, firstIdBase, _DOCUMENT_ANCHORED_TOPIC)
                p := mload(0x00)
                lp := mload(0x20)
            }
            let level1 := shr(5, sub(lp, nodes)) // k
            count := shl(1, level1)
            // 2. The other records one by one: leaves at nodes[k..), then folded into level 1.
            if lt(sub(p, records.offset), records.length) {
                pop(parse(p, add(records.offset, records.length), lp, buf, add(firstIdBase, count)))
                p := mload(0x00)
                let m := shr(5, sub(mload(0x20), lp))
                count := add(count, m)
                level1 := add(level1, fold(lp, m))
            }
            // On success the last record ends exactly at the end of `records`; otherwise `p` is
            // at a bad record (before the end) or past the end (truncated last record).
            offset := sub(p, records.offset)
            if eq(offset, records.length) {
                // 3. Fold the levels into the root (a batch of one: root = leaf).
                for {} gt(level1, 1) {} { level1 := fold(nodes, level1) }
                root := mload(nodes)
            }
        }
        if (offset != records.length) _revertBadRecord(records, offset);
    }

    /// @dev Error path of the parser: names what is wrong with the record at `offset`, or with the
    /// last record when `offset` is past the end (a truncated record).
    function _revertBadRecord(bytes calldata records, uint256 offset) private pure {
        if (offset >= records.length) {
            // Find the record that runs past the end.
            offset = 0;
            while (_recordEnd(records, offset) <= records.length) offset = _recordEnd(records, offset);
            revert RegistryMalformedRecord(offset);
        }
        uint8 docType = uint8(records[offset]);
        if (docType == 0 || docType > CERTIFICATE_OF_ORIGIN) revert RegistryUnknownDocumentType(docType);
        if (offset + _RECORD_HEADER <= records.length) {
            uint8 destinationCount = uint8(records[offset + 65]);
            if (docType == TRANSIT_DECLARATION && destinationCount == 1) {
                revert RegistryItineraryTooShort(offset, destinationCount);
            }
        }
        revert RegistryMalformedRecord(offset);
    }

    /// @dev Summary word cached across the words of one batch.
    struct SummaryCache {
        uint256 index;
        uint256 bits;
        bool loaded;
        bool dirty;
    }

    /// @dev Marks serials [firstSerial, firstSerial + count) used, one word at a time: a word the
    /// range covers entirely gets its summary bit (the word must be unused so far), an edge word
    /// gets the range's bits. Reverts with `RegistrySerialOverflow` or `RegistryDuplicateDocument`.
    function _markSerials(bytes2 issuer, uint64 firstSerial, uint256 count, bytes calldata records) private {
        uint256 last = uint256(firstSerial) + count - 1;
        if (last > type(uint64).max) revert RegistrySerialOverflow(firstSerial, count);
        SerialBitmap storage bitmap = _serials[issuer];
        SummaryCache memory cache;
        uint256 serial = firstSerial;
        while (true) {
            uint256 wordLast = serial | 0xff;
            if (wordLast > last) wordLast = last;
            uint256 clash = _markWord(bitmap, serial, wordLast, cache);
            if (clash != 0) _revertDuplicate(issuer, firstSerial, clash - 1, records);
            if (wordLast == last) break;
            serial = wordLast + 1;
        }
        if (cache.dirty) bitmap.fullWords[cache.index] = cache.bits;
    }

    /// @dev Marks serials [from, to] of one word; returns 1 + the first clashing serial (0 if
    /// none). The summary is read only for a word still empty: a word with bits set was never
    /// used whole (using it whole needs it empty, and a word used whole is never written again).
    function _markWord(SerialBitmap storage bitmap, uint256 from, uint256 to, SummaryCache memory cache)
        private
        returns (uint256 clash)
    {
        uint256 word = from >> 8;
        uint256 mask;
        unchecked {
            // to - from + 1 bits from bit (from & 0xff); 2 << 255 wraps to 0, giving all ones.
            mask = ((uint256(2) << (to - from)) - 1) << (from & 0xff);
        }
        uint256 bits = bitmap.words[word];
        if (bits != 0) {
            if (bits & mask != 0) return ((word << 8) | _lowestBit(bits & mask)) + 1;
            bitmap.words[word] = bits | mask;
            return 0;
        }
        if (!cache.loaded || cache.index != word >> 8) {
            if (cache.dirty) bitmap.fullWords[cache.index] = cache.bits;
            cache.index = word >> 8;
            cache.bits = bitmap.fullWords[cache.index];
            cache.loaded = true;
            cache.dirty = false;
        }
        uint256 summaryBit = uint256(1) << (word & 0xff);
        if (cache.bits & summaryBit != 0) return from + 1;
        if (mask == type(uint256).max) {
            cache.bits |= summaryBit;
            cache.dirty = true;
        } else {
            bitmap.words[word] = mask;
        }
        return 0;
    }

    /// @dev Reverts with the id that the batch gives to the already used serial `serial`.
    function _revertDuplicate(bytes2 issuer, uint64 firstSerial, uint256 serial, bytes calldata records) private pure {
        uint8 docType = uint8(records[_recordOffset(records, serial - firstSerial)]);
        // forge-lint: disable-next-line(unsafe-typecast) (serial <= last serial, checked <= uint64 max)
        revert RegistryDuplicateDocument(_documentId(issuer, docType, uint64(serial)));
    }

    /// @dev `_markWord` for one serial (the summary is read only if the word is still empty).
    function _markSerial(bytes2 issuer, uint64 serial, bytes32 id) private {
        SerialBitmap storage bitmap = _serials[issuer];
        uint256 bit = uint256(1) << (serial & 0xff);
        uint256 bits = bitmap.words[serial >> 8];
        if (bits & bit != 0) revert RegistryDuplicateDocument(id);
        if (bits == 0 && (bitmap.fullWords[serial >> 16] >> ((serial >> 8) & 0xff)) & 1 != 0) {
            revert RegistryDuplicateDocument(id);
        }
        bitmap.words[serial >> 8] = bits | bit;
    }

    function _isUsed(SerialBitmap storage bitmap, uint64 serial) private view returns (bool) {
        return (bitmap.words[serial >> 8] >> (serial & 0xff)) & 1 == 1
            || (bitmap.fullWords[serial >> 16] >> ((serial >> 8) & 0xff)) & 1 == 1;
    }

    // =============================================================================================
    // Internals: lifecycle
    // =============================================================================================

    function _requireIssuer(bytes32 id) private view {
        bytes2 caller = _consortium.activeEconomyOf(msg.sender);
        if (_issuerOf(id) != caller) revert RegistryNotIssuer(id, caller);
    }

    /// @dev Checks `proof` for `id` and returns the record's type and destination count. The record
    /// must parse exactly (at least 69 bytes): a leaf preimage is then never 64 bytes long, so an
    /// inner node of the tree cannot be passed off as a document.
    function _requireProof(bytes32 id, DocumentProof calldata proof)
        private
        view
        returns (uint8 docType, uint256 destinationCount)
    {
        bytes32 root = _batchRoots[proof.batchKey];
        if (root == 0) revert RegistryUnknownBatch(proof.batchKey);
        uint256 code;
        (code, docType, destinationCount) = _recordShape(proof.record);
        if (code != _PARSE_OK) revert RegistryMalformedRecord(0);
        if (!MerkleProof.verifyCalldata(proof.proof, root, _leaf(id, proof.record))) revert RegistryInvalidProof(id);
    }

    function _materialize(bytes32 id, uint8 docType) private returns (DocumentState storage s) {
        s = _documents[id];
        if (!s.materialized) {
            s.materialized = true;
            s.docType = docType;
            s.status = STATUS_ACTIVE;
            s.version = 1;
            s.materializedAt = uint40(block.timestamp);
            s.updatedAt = uint40(block.timestamp);
        }
    }

    /// @dev The rules and storage of one acknowledgement by `acknowledger` (the caller's active
    /// economy, checked by the caller of this function).
    function _recordAcknowledgement(
        bytes2 acknowledger,
        bytes32 id,
        uint32 version,
        uint8 lane,
        DocumentProof calldata proof
    ) private {
        if (lane == 0 || lane > LANE_RED) revert RegistryInvalidLane(lane);
        (, uint256 destinationCount) = _requireProof(id, proof);
        if (_itineraryIndex(proof.record, destinationCount, acknowledger) == destinationCount) {
            revert RegistryNotDestination(id, acknowledger);
        }
        DocumentState storage s = _documents[id];
        if (s.status == STATUS_REVOKED) revert RegistryDocumentRevoked(id);
        uint32 current = s.materialized ? s.version : 1;
        if (version == 0 || version > current) revert RegistryUnknownVersion(id, version, current);
        Acknowledgement storage a = _acks[id][version][acknowledger];
        if (a.lane != 0) revert RegistryAlreadyAcknowledged(id, version, acknowledger);
        a.lane = lane;
        a.acknowledgedAt = uint40(block.timestamp);
    }

    // =============================================================================================
    // Internals: records
    // =============================================================================================

    /// @dev Validates one record occupying all of `record`; returns a parse code, its type and its
    /// destination count.
    function _recordShape(bytes calldata record)
        private
        pure
        returns (uint256 code, uint8 docType, uint256 destinationCount)
    {
        if (record.length < _MIN_RECORD_LENGTH) return (_PARSE_MALFORMED, 0, 0);
        docType = uint8(record[0]);
        if (docType == 0 || docType > CERTIFICATE_OF_ORIGIN) return (_PARSE_UNKNOWN_TYPE, docType, 0);
        destinationCount = uint8(record[65]);
        if (destinationCount == 0) return (_PARSE_MALFORMED, docType, 0);
        if (docType == TRANSIT_DECLARATION && destinationCount == 1) return (_PARSE_SHORT_ITINERARY, docType, 1);
        uint256 linkPos = _RECORD_HEADER + 2 * destinationCount;
        if (record.length <= linkPos) return (_PARSE_MALFORMED, docType, destinationCount);
        if (record.length != linkPos + 1 + 32 * uint256(uint8(record[linkPos]))) {
            return (_PARSE_MALFORMED, docType, destinationCount);
        }
        return (_PARSE_OK, docType, destinationCount);
    }

    /// @dev Byte offset just past the record starting at `offset`, or type(uint256).max when its
    /// counts lie past the end of `records`.
    function _recordEnd(bytes calldata records, uint256 offset) private pure returns (uint256) {
        if (offset + _RECORD_HEADER > records.length) return type(uint256).max;
        uint256 linkPos = offset + _RECORD_HEADER + 2 * uint256(uint8(records[offset + 65]));
        if (linkPos >= records.length) return type(uint256).max;
        return linkPos + 1 + 32 * uint256(uint8(records[linkPos]));
    }

    /// @dev Byte offset of record number `index` (records already validated).
    function _recordOffset(bytes calldata records, uint256 index) private pure returns (uint256 offset) {
        for (uint256 i = 0; i < index; ++i) {
            offset = _recordEnd(records, offset);
        }
    }

    function _destinationAt(bytes calldata record, uint256 index) private pure returns (bytes2 destination) {
        assembly ("memory-safe") {
            destination := and(calldataload(add(record.offset, add(66, shl(1, index)))), shl(240, 0xffff))
        }
    }

    /// @dev Index of the first occurrence of `economy` among the record's destinations, or `count`.
    function _itineraryIndex(bytes calldata record, uint256 count, bytes2 economy) private pure returns (uint256) {
        for (uint256 i = 0; i < count; ++i) {
            if (_destinationAt(record, i) == economy) return i;
        }
        return count;
    }

    function _leaf(bytes32 id, bytes calldata record) private pure returns (bytes32) {
        return keccak256(abi.encodePacked(id, record));
    }

    /// @dev The economy of an id: its two high-order bytes.
    function _issuerOf(bytes32 id) private pure returns (bytes2) {
        // forge-lint: disable-next-line(unsafe-typecast) (truncation to the high-order bytes intended)
        return bytes2(id);
    }

    function _idBase(bytes2 economy, uint64 serial) private pure returns (uint256) {
        return (uint256(uint16(economy)) << 240) | uint256(serial);
    }

    function _documentId(bytes2 economy, uint8 docType, uint64 serial) private pure returns (bytes32) {
        return bytes32((uint256(uint16(economy)) << 240) | (uint256(docType) << 232) | uint256(serial));
    }

    function _lowestBit(uint256 x) private pure returns (uint256 index) {
        while (x & 1 == 0) {
            x >>= 1;
            ++index;
        }
    }
}
