// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title IAeoRegistry
/// @notice Authorized Economic Operators (AEO) registered by each member for its own economy, the
/// bilateral Mutual Recognition Arrangements (MRA) between members, and multilateral recognition
/// programmes (in the spirit of the APEC Authorized Exporters). `recognition()` tells an importing
/// economy whether, and on which basis, it recognizes an operator.
interface IAeoRegistry {
    enum OperatorStatus {
        None,
        Active,
        Suspended,
        Revoked
    }

    /// @notice `operatorId` is computed off chain (hash of the national identifier); validity is
    /// the half-open window [validFrom, validUntil) in unix seconds.
    struct Operator {
        OperatorStatus status;
        uint8 tier;
        uint64 validFrom;
        uint64 validUntil;
        uint64 updatedAt;
    }

    // ---------------------------------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------------------------------

    event OperatorRegistered(
        bytes2 indexed economy, bytes32 indexed operatorId, uint8 tier, uint64 validFrom, uint64 validUntil
    );
    event OperatorRenewed(
        bytes2 indexed economy, bytes32 indexed operatorId, uint8 tier, uint64 validFrom, uint64 validUntil
    );
    event OperatorSuspended(bytes2 indexed economy, bytes32 indexed operatorId);
    event OperatorReinstated(bytes2 indexed economy, bytes32 indexed operatorId);
    event OperatorRevoked(bytes2 indexed economy, bytes32 indexed operatorId);
    /// @notice `economy` approved an MRA with `partner` (not yet effective unless MraEstablished follows).
    event MraApproved(bytes2 indexed economy, bytes2 indexed partner);
    /// @notice Both sides approved: the MRA is effective. `economy` gave the second approval.
    event MraEstablished(bytes2 indexed economy, bytes2 indexed partner);
    /// @notice `economy` terminated (or withdrew its pending approval of) the MRA with `partner`.
    event MraTerminated(bytes2 indexed economy, bytes2 indexed partner, bool wasEffective);
    event ProgrammeCreated(bytes32 indexed programmeId, bytes2 indexed creator);
    event ProgrammeJoined(bytes32 indexed programmeId, bytes2 indexed economy);
    event ProgrammeLeft(bytes32 indexed programmeId, bytes2 indexed economy);

    // ---------------------------------------------------------------------------------------------
    // Errors
    // ---------------------------------------------------------------------------------------------

    error AeoInvalidConsortium(address consortium);
    error AeoInvalidOperatorId(bytes32 operatorId);
    error AeoInvalidTier(uint8 tier);
    error AeoInvalidValidity(uint64 validFrom, uint64 validUntil);
    error AeoOperatorAlreadyRegistered(bytes2 economy, bytes32 operatorId);
    error AeoUnknownOperator(bytes2 economy, bytes32 operatorId);
    error AeoUnexpectedOperatorStatus(bytes2 economy, bytes32 operatorId, OperatorStatus status);
    error AeoSelfMra(bytes2 economy);
    error AeoPartnerNotActive(bytes2 partner);
    error AeoMraAlreadyApproved(bytes2 economy, bytes2 partner);
    error AeoNoMra(bytes2 economy, bytes2 partner);
    error AeoInvalidProgrammeId(bytes32 programmeId);
    error AeoProgrammeExists(bytes32 programmeId);
    error AeoUnknownProgramme(bytes32 programmeId);
    error AeoAlreadyInProgramme(bytes32 programmeId, bytes2 economy);
    error AeoNotInProgramme(bytes32 programmeId, bytes2 economy);
    error AeoTooManyProgrammes(bytes2 economy, uint256 count);

    // ---------------------------------------------------------------------------------------------
    // Operators (each member for its own economy)
    // ---------------------------------------------------------------------------------------------

    /// @notice Registers an AEO of the caller's economy, ACTIVE from now on (recognized inside
    /// [validFrom, validUntil)). Emits OperatorRegistered.
    /// @dev Caller: a node account of an ACTIVE member. Reverts with `ConsortiumNotActiveMember`,
    /// `AeoInvalidOperatorId` (0), `AeoInvalidTier` (0), `AeoInvalidValidity` (validFrom >= validUntil),
    /// `AeoOperatorAlreadyRegistered` (any status: revoked ids are not reused).
    function registerOperator(bytes32 operatorId, uint8 tier, uint64 validFrom, uint64 validUntil) external;

    /// @notice Replaces the tier and validity window of an ACTIVE or SUSPENDED operator of the
    /// caller's economy (certificate renewal). Emits OperatorRenewed.
    /// @dev Caller: a node account of the ACTIVE member that registered it. Reverts with
    /// `ConsortiumNotActiveMember`, `AeoInvalidTier`, `AeoInvalidValidity`, `AeoUnknownOperator`,
    /// `AeoUnexpectedOperatorStatus` (revoked).
    function renewOperator(bytes32 operatorId, uint8 tier, uint64 validFrom, uint64 validUntil) external;

    /// @notice ACTIVE -> SUSPENDED for an operator of the caller's economy. Emits OperatorSuspended.
    /// @dev Caller: a node account of the ACTIVE registering member. Reverts with
    /// `ConsortiumNotActiveMember`, `AeoUnknownOperator`, `AeoUnexpectedOperatorStatus`.
    function suspendOperator(bytes32 operatorId) external;

    /// @notice SUSPENDED -> ACTIVE for an operator of the caller's economy. Emits OperatorReinstated.
    /// @dev Caller: a node account of the ACTIVE registering member. Reverts with
    /// `ConsortiumNotActiveMember`, `AeoUnknownOperator`, `AeoUnexpectedOperatorStatus`.
    function reinstateOperator(bytes32 operatorId) external;

    /// @notice ACTIVE or SUSPENDED -> REVOKED (terminal) for an operator of the caller's economy.
    /// Emits OperatorRevoked.
    /// @dev Caller: a node account of the ACTIVE registering member. Reverts with
    /// `ConsortiumNotActiveMember`, `AeoUnknownOperator`, `AeoUnexpectedOperatorStatus`.
    function revokeOperator(bytes32 operatorId) external;

    // ---------------------------------------------------------------------------------------------
    // Bilateral MRAs
    // ---------------------------------------------------------------------------------------------

    /// @notice The caller's economy approves an MRA with `partner`; the MRA is effective once both
    /// sides approved. Emits MraApproved, and MraEstablished when this is the second approval.
    /// @dev Caller: a node account of an ACTIVE member; `partner` must be another ACTIVE member.
    /// Reverts with `ConsortiumNotActiveMember`, `AeoSelfMra`, `AeoPartnerNotActive`,
    /// `AeoMraAlreadyApproved`.
    function approveMra(bytes2 partner) external;

    /// @notice Ends the MRA between the caller's economy and `partner` (or withdraws a pending
    /// approval by either side): both approvals are cleared. Emits MraTerminated.
    /// @dev Caller: a node account of an ACTIVE member that is one side of the MRA. Reverts with
    /// `ConsortiumNotActiveMember`, `AeoNoMra` (no approval by either side).
    function terminateMra(bytes2 partner) external;

    // ---------------------------------------------------------------------------------------------
    // Multilateral programmes
    // ---------------------------------------------------------------------------------------------

    /// @notice Creates programme `programmeId`; the caller's economy is its first participant.
    /// Emits ProgrammeCreated then ProgrammeJoined.
    /// @dev Caller: a node account of an ACTIVE member. Reverts with `ConsortiumNotActiveMember`,
    /// `AeoInvalidProgrammeId` (0), `AeoProgrammeExists`, `AeoTooManyProgrammes`.
    function createProgramme(bytes32 programmeId) external;

    /// @notice The caller's economy joins an existing programme. Emits ProgrammeJoined.
    /// @dev Caller: a node account of an ACTIVE member. Reverts with `ConsortiumNotActiveMember`,
    /// `AeoUnknownProgramme`, `AeoAlreadyInProgramme`, `AeoTooManyProgrammes`.
    function joinProgramme(bytes32 programmeId) external;

    /// @notice The caller's economy leaves a programme. Emits ProgrammeLeft.
    /// @dev Caller: a node account of an ACTIVE member participating in it. Reverts with
    /// `ConsortiumNotActiveMember`, `AeoNotInProgramme`.
    function leaveProgramme(bytes32 programmeId) external;

    // ---------------------------------------------------------------------------------------------
    // Views (anyone may call)
    // ---------------------------------------------------------------------------------------------

    /// @notice The Consortium whose active members may write.
    function consortium() external view returns (address);

    /// @notice The stored operator (status None if never registered).
    function operator(bytes2 economy, bytes32 operatorId) external view returns (Operator memory);

    /// @notice Whether `importingEconomy` recognizes the operator now, and on which basis:
    /// 0 none, 1 own programme (same economy), 2 bilateral MRA, 3 multilateral programme.
    /// Recognized only if the operator is ACTIVE and validFrom <= block.timestamp < validUntil.
    function recognition(bytes2 operatorEconomy, bytes32 operatorId, bytes2 importingEconomy)
        external
        view
        returns (bool recognized, uint8 basis);

    /// @notice Approvals of the MRA between `a` and `b`, and whether it is effective.
    function mra(bytes2 a, bytes2 b) external view returns (bool approvedByA, bool approvedByB, bool effective);

    /// @notice Whether the MRA between `a` and `b` is effective.
    function isMraEffective(bytes2 a, bytes2 b) external view returns (bool);

    /// @notice A programme's creator (0 if unknown) and current participants.
    function programme(bytes32 programmeId) external view returns (bytes2 creator, bytes2[] memory participants);

    /// @notice Whether `economy` participates in `programmeId`.
    function isInProgramme(bytes32 programmeId, bytes2 economy) external view returns (bool);

    /// @notice The programmes `economy` participates in.
    function programmesOf(bytes2 economy) external view returns (bytes32[] memory);
}
