// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title IDocumentRegistry
/// @notice Anchors salted commitments of trade documents (pre-arrival manifests, transit
/// declarations, certificates of origin) and records their lifecycle: amendments, revocation,
/// acknowledgements (risk lane) by the destination economies, and transit checkpoints.
///
/// Conventions shared with the off-chain client:
/// - economy: ISO 3166-1 alpha-2 as `bytes2` ASCII ("KZ" = 0x4b5a);
/// - document types: 1 PRE_ARRIVAL_MANIFEST, 2 TRANSIT_DECLARATION, 3 CERTIFICATE_OF_ORIGIN;
/// - document id: `uint16(economy) << 240 | docType << 232 | serial` (serial: uint64), computed on
///   chain from the sender's economy, so a member can only create ids in its own namespace;
/// - record (packed, per document): `uint8 docType | bytes32 commitment | bytes32 payloadDigest |
///   uint8 destinationCount (>= 1) | bytes2[destinationCount] destinations | uint8 linkCount |
///   bytes32[linkCount] linkedIds`. For a transit declaration the destinations are the itinerary in
///   order (departure economy first, destination economy last, at least two);
/// - Merkle leaf: `keccak256(abi.encodePacked(id, record))`; nodes: OpenZeppelin sorted-pair
///   keccak (`Hashes.commutativeKeccak256`), levels built left to right, an odd last node is
///   carried up unchanged; a batch of one has root = leaf;
/// - lanes: 1 GREEN, 2 YELLOW, 3 RED; checkpoints: 1 DEPARTURE, 2 TRANSIT_PASSED, 3 ARRIVAL,
///   4 INCIDENT; status: 1 ACTIVE, 2 REVOKED.
interface IDocumentRegistry {
    // ---------------------------------------------------------------------------------------------
    // Types
    // ---------------------------------------------------------------------------------------------

    /// @notice Proof that `record` is the document anchored under an id in the batch `batchKey`
    /// (the id of the batch's first document): a Merkle proof of `keccak256(id ‖ record)` against
    /// `batchRoot(batchKey)`, as accepted by OpenZeppelin `MerkleProof.verifyCalldata`.
    struct DocumentProof {
        bytes32 batchKey;
        bytes record;
        bytes32[] proof;
    }

    /// @notice Per-document state, written by the first operation after anchoring (amend, revoke,
    /// checkpoint). `materialized == false` means no such operation happened yet: an anchored
    /// document is then at version 1 and ACTIVE (see `isSerialUsed`).
    /// @dev `checkpointPosition` counts the itinerary economies passed: 0 before DEPARTURE, 1 after
    /// it, ..., n after ARRIVAL (n = itinerary length). Timestamps are unix seconds.
    struct DocumentState {
        bool materialized;
        uint8 docType;
        uint8 status;
        uint32 version;
        uint8 checkpointPosition;
        uint16 revocationReason;
        uint40 materializedAt;
        uint40 updatedAt;
        uint40 revokedAt;
    }

    struct Acknowledgement {
        uint8 lane;
        uint40 acknowledgedAt;
    }

    /// @notice One acknowledgement of `acknowledgeBatch`: the arguments of `acknowledge`.
    struct AcknowledgementItem {
        bytes32 id;
        uint32 version;
        uint8 lane;
        bytes32 reasonsCommitment;
        bytes32 reasonsDigest;
        DocumentProof proof;
    }

    // ---------------------------------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------------------------------

    /// @notice One per destination of each anchored document.
    event DocumentAnchored(
        bytes32 indexed id, uint8 indexed docType, bytes2 indexed destination, bytes32 commitment, bytes32 payloadDigest
    );
    /// @notice One per linked id of each anchored document (none when it has no links).
    event DocumentLinked(bytes32 indexed id, bytes32 indexed linkedId);
    /// @notice Once per batch (also for `anchor`, a batch of one); `batchKey` is the first id.
    event BatchAnchored(
        bytes32 indexed batchKey,
        bytes2 indexed issuer,
        address submitter,
        bytes32 authorityId,
        uint64 firstSerial,
        uint32 count,
        bytes32 root
    );
    /// @notice One per destination; `version` is the new version (the anchor is version 1).
    event DocumentAmended(
        bytes32 indexed id,
        uint8 indexed docType,
        bytes2 indexed destination,
        uint32 version,
        bytes32 commitment,
        bytes32 payloadDigest
    );
    /// @notice One per destination.
    event DocumentRevoked(bytes32 indexed id, uint8 indexed docType, bytes2 indexed destination, uint16 reasonCode);
    event DocumentAcknowledged(
        bytes32 indexed id,
        bytes2 indexed issuer,
        bytes2 indexed acknowledger,
        uint32 version,
        uint8 lane,
        bytes32 reasonsCommitment,
        bytes32 reasonsDigest
    );
    /// @notice `position` is the itinerary index of `economy` (for INCIDENT: its first occurrence).
    event TransitCheckpointRecorded(bytes32 indexed id, bytes2 indexed economy, uint8 indexed kind, uint8 position);
    /// @notice An OpenAttestation batch root was issued under `economy` (its DocumentStore facade
    /// now answers `isIssued(root) == true`).
    event OaRootIssued(bytes2 indexed economy, bytes32 indexed root, address submitter);
    /// @notice `hash` (a target hash, an intermediate node or the root of the issued batch `root`)
    /// was revoked under `economy`.
    event OaHashRevoked(bytes2 indexed economy, bytes32 indexed hash, bytes32 indexed root, address submitter);

    // ---------------------------------------------------------------------------------------------
    // Errors
    // ---------------------------------------------------------------------------------------------

    error RegistryInvalidConsortium(address consortium);
    error RegistryEmptyBatch();
    /// @notice `offset` is the byte offset, in the records (or record) argument, of the record that
    /// does not parse or of trailing bytes.
    error RegistryMalformedRecord(uint256 offset);
    error RegistryUnknownDocumentType(uint8 docType);
    error RegistryItineraryTooShort(uint256 offset, uint8 destinationCount);
    error RegistrySerialOverflow(uint64 firstSerial, uint256 count);
    error RegistryDuplicateDocument(bytes32 id);
    error RegistryUnknownAuthority(bytes2 economy, bytes32 authorityId);
    error RegistryUnknownBatch(bytes32 batchKey);
    error RegistryInvalidProof(bytes32 id);
    error RegistryNotIssuer(bytes32 id, bytes2 caller);
    error RegistryDocumentRevoked(bytes32 id);
    error RegistryNotDestination(bytes32 id, bytes2 caller);
    error RegistryUnknownVersion(bytes32 id, uint32 version, uint32 currentVersion);
    error RegistryInvalidLane(uint8 lane);
    error RegistryAlreadyAcknowledged(bytes32 id, uint32 version, bytes2 economy);
    error RegistryNotTransitDeclaration(bytes32 id, uint8 docType);
    error RegistryUnknownCheckpointKind(uint8 kind);
    error RegistryCheckpointOutOfOrder(bytes32 id, uint8 kind, uint8 checkpointPosition);
    error RegistryWrongCheckpointEconomy(bytes32 id, uint8 kind, bytes2 expected, bytes2 caller);
    error RegistryNotOnItinerary(bytes32 id, bytes2 caller);
    error RegistryOaZeroRoot();
    error RegistryOaRootAlreadyIssued(bytes2 economy, bytes32 root);
    error RegistryOaRootNotIssued(bytes2 economy, bytes32 root);
    error RegistryOaHashNotInBatch(bytes32 root, bytes32 hash);
    error RegistryOaAlreadyRevoked(bytes2 economy, bytes32 hash);

    // ---------------------------------------------------------------------------------------------
    // Writes
    // ---------------------------------------------------------------------------------------------

    /// @notice Anchors a batch of documents of the caller's economy; document i gets serial
    /// `firstSerial + i`. Stores one slot (`batchRoot[firstId] = root`) and marks the serials used.
    /// @dev Caller: a node account of an ACTIVE member. `authorityId` 0 means the customs
    /// administration itself; otherwise it must be an active issuing authority of the caller's
    /// economy. Emits DocumentAnchored per destination, DocumentLinked per link, then BatchAnchored.
    /// Reverts with `ConsortiumNotActiveMember` (from the consortium), `RegistryUnknownAuthority`,
    /// `RegistryEmptyBatch`, `RegistryMalformedRecord`, `RegistryUnknownDocumentType`,
    /// `RegistryItineraryTooShort`, `RegistrySerialOverflow`, `RegistryDuplicateDocument`.
    /// @param records Packed concatenation of records (layout in the interface NatSpec).
    /// @return batchKey The id of the first document. @return root The batch's Merkle root.
    function anchorBatch(uint64 firstSerial, bytes32 authorityId, bytes calldata records)
        external
        returns (bytes32 batchKey, bytes32 root);

    /// @notice Anchors one document: same rules, storage and events as a batch of one
    /// (root = leaf, batchKey = id).
    /// @dev Caller and reverts as `anchorBatch`; `record` must hold exactly one record
    /// (`RegistryMalformedRecord` otherwise, also when empty).
    function anchor(uint64 serial, bytes32 authorityId, bytes calldata record) external returns (bytes32 id);

    /// @notice Records a new version of a document (new commitment and payload); destinations and
    /// type stay those of the anchored record. Emits DocumentAmended per destination.
    /// @dev Caller: a node account of the ACTIVE member that issued `id` (id namespace). Reverts with
    /// `ConsortiumNotActiveMember`, `RegistryNotIssuer`, `RegistryUnknownBatch`,
    /// `RegistryMalformedRecord`, `RegistryInvalidProof`, `RegistryDocumentRevoked`.
    /// @return version The new version (2 for the first amendment).
    function amend(bytes32 id, bytes32 commitment, bytes32 payloadDigest, DocumentProof calldata proof)
        external
        returns (uint32 version);

    /// @notice Revokes a document for good (terminal). Emits DocumentRevoked per destination.
    /// @dev Caller: a node account of the ACTIVE issuing member. Reverts with
    /// `ConsortiumNotActiveMember`, `RegistryNotIssuer`, `RegistryUnknownBatch`,
    /// `RegistryMalformedRecord`, `RegistryInvalidProof`, `RegistryDocumentRevoked` (already revoked).
    function revoke(bytes32 id, uint16 reasonCode, DocumentProof calldata proof) external;

    /// @notice Records that a destination economy received `version` of a document and which risk
    /// lane it assigned. Once per (id, version, economy). `reasonsDigest` may be 0 (reasons not
    /// shared). Acknowledging a revoked document is refused: revocation is terminal.
    /// @dev Caller: a node account of an ACTIVE member listed among the document's destinations.
    /// Reverts with `ConsortiumNotActiveMember`, `RegistryInvalidLane`, `RegistryUnknownBatch`,
    /// `RegistryMalformedRecord`, `RegistryInvalidProof`, `RegistryNotDestination`,
    /// `RegistryDocumentRevoked`, `RegistryUnknownVersion`, `RegistryAlreadyAcknowledged`.
    function acknowledge(
        bytes32 id,
        uint32 version,
        uint8 lane,
        bytes32 reasonsCommitment,
        bytes32 reasonsDigest,
        DocumentProof calldata proof
    ) external;

    /// @notice Records several acknowledgements in one transaction: each item is checked and
    /// recorded exactly as by `acknowledge` (same rules, same storage, one DocumentAcknowledged per
    /// item, in item order), so readers of the events cannot tell the two apart. Atomic: if any
    /// item breaks a rule the whole call reverts with that item's error (the first in item order);
    /// a caller then acknowledges the items one by one to find it. An (id, version) listed twice
    /// reverts with `RegistryAlreadyAcknowledged`.
    /// @dev Caller: a node account of an ACTIVE member (checked once per call) listed among the
    /// destinations of every item's document. Reverts with `ConsortiumNotActiveMember`,
    /// `RegistryEmptyBatch` (no item), then per item as `acknowledge`: `RegistryInvalidLane`,
    /// `RegistryUnknownBatch`, `RegistryMalformedRecord`, `RegistryInvalidProof`,
    /// `RegistryNotDestination`, `RegistryDocumentRevoked`, `RegistryUnknownVersion`,
    /// `RegistryAlreadyAcknowledged`.
    function acknowledgeBatch(AcknowledgementItem[] calldata items) external;

    /// @notice Records a transit checkpoint of a TRANSIT_DECLARATION whose destinations are its
    /// itinerary: DEPARTURE by itinerary[0], first; TRANSIT_PASSED by the next economy strictly in
    /// order (itinerary[1..n-2]); ARRIVAL by itinerary[n-1] after all transit passages; INCIDENT by
    /// any itinerary economy after departure and before arrival (does not advance).
    /// Emits TransitCheckpointRecorded.
    /// @dev Caller: a node account of an ACTIVE member on the itinerary, as above. Reverts with
    /// `ConsortiumNotActiveMember`, `RegistryUnknownCheckpointKind`, `RegistryUnknownBatch`,
    /// `RegistryMalformedRecord`, `RegistryInvalidProof`, `RegistryNotTransitDeclaration`,
    /// `RegistryDocumentRevoked`, `RegistryCheckpointOutOfOrder`, `RegistryWrongCheckpointEconomy`,
    /// `RegistryNotOnItinerary`.
    /// @return position The itinerary index of the caller's economy.
    function recordCheckpoint(bytes32 id, uint8 kind, DocumentProof calldata proof) external returns (uint8 position);

    /// @notice Issues an OpenAttestation v2 batch under the caller's economy: records the batch's
    /// Merkle root (`signature.merkleRoot` of its wrapped documents) with the block time. The
    /// economy's `OaDocumentStore` facade then reports the root as issued. Roots are kept per
    /// economy, so no member can issue, squat or revoke under another member's identity. Emits
    /// OaRootIssued.
    /// @dev Caller: a node account of an ACTIVE member. Reverts with `ConsortiumNotActiveMember`,
    /// `RegistryOaZeroRoot`, `RegistryOaRootAlreadyIssued` (this economy issued it before).
    function issueOaRoot(bytes32 root) external;

    /// @notice Revokes, under the caller's economy, one node of an OA batch that economy issued:
    /// a document's target hash (that document), an intermediate node (the documents below it) or
    /// the root itself (the whole batch; `proof` empty). `proof` leads from `hash` to `root`
    /// (OA / OpenZeppelin sorted-pair keccak: the tail of a wrapped document's
    /// `signature.proof`). Terminal. Emits OaHashRevoked.
    /// @dev Caller: a node account of the ACTIVE member that issued `root`. Reverts with
    /// `ConsortiumNotActiveMember`, `RegistryOaRootNotIssued` (not issued by the caller's economy),
    /// `RegistryOaHashNotInBatch`, `RegistryOaAlreadyRevoked`.
    function revokeOa(bytes32 root, bytes32 hash, bytes32[] calldata proof) external;

    // ---------------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------------

    /// @notice The consortium whose active members may write. Anyone may call.
    function consortium() external view returns (address);

    /// @notice The stored per-document state (all zero while not materialized). Anyone may call.
    function documentState(bytes32 id) external view returns (DocumentState memory);

    /// @notice Whether `economy` used `serial` (for any document type). Anyone may call.
    function isSerialUsed(bytes2 economy, uint64 serial) external view returns (bool);

    /// @notice The Merkle root stored for the batch whose first id is `batchKey` (0 if none).
    /// Anyone may call.
    function batchRoot(bytes32 batchKey) external view returns (bytes32);

    /// @notice The acknowledgement of `version` of `id` by `economy` (lane 0 if none). Anyone may call.
    function acknowledgement(bytes32 id, uint32 version, bytes2 economy)
        external
        view
        returns (uint8 lane, uint40 acknowledgedAt);

    /// @notice Whether `proof` proves `id` against a stored batch root. Never reverts; anyone may call.
    function verifyDocument(bytes32 id, DocumentProof calldata proof) external view returns (bool);

    /// @notice `uint16(economy) << 240 | docType << 232 | serial`. Pure; does not check docType.
    function documentId(bytes2 economy, uint8 docType, uint64 serial) external pure returns (bytes32);

    /// @notice Splits an id into its economy, document type and serial. Pure.
    function parseDocumentId(bytes32 id) external pure returns (bytes2 economy, uint8 docType, uint64 serial);

    /// @notice When `economy` issued the OA batch root `root` (unix seconds; 0 if it did not).
    /// Anyone may call.
    function oaIssuedAt(bytes2 economy, bytes32 root) external view returns (uint40);

    /// @notice When `economy` revoked the OA hash `hash` (unix seconds; 0 if it did not).
    /// Anyone may call.
    function oaRevokedAt(bytes2 economy, bytes32 hash) external view returns (uint40);
}
