// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {IConsortium} from "./interfaces/IConsortium.sol";
import {IAeoRegistry} from "./interfaces/IAeoRegistry.sol";

/// @title AeoRegistry
/// @notice Authorized Economic Operators and their recognition between economies.
///
/// Permissions: every write needs `consortium.activeEconomyOf(msg.sender)`. Operators are keyed by
/// (economy, operatorId) and the economy is always the caller's: only the registering economy can
/// change its operators. An MRA needs the approval of both sides and ends when either side
/// terminates it. Programmes are open: any active member may create one or join/leave one.
///
/// Recognition does not look at the consortium status of the economies (a suspended member's
/// AEOs stay recognized by its partners until they terminate the MRA or the member revokes them);
/// it follows the operator's status and validity window and the MRA/programme state only.
contract AeoRegistry is IAeoRegistry {
    using EnumerableSet for EnumerableSet.Bytes32Set;

    /// @notice Recognition basis: not recognized.
    uint8 public constant BASIS_NONE = 0;
    /// @notice Recognition basis: the operator's own economy (own AEO programme).
    uint8 public constant BASIS_OWN = 1;
    /// @notice Recognition basis: an effective bilateral MRA.
    uint8 public constant BASIS_MRA = 2;
    /// @notice Recognition basis: a multilateral programme both economies take part in.
    uint8 public constant BASIS_PROGRAMME = 3;

    /// @notice Bounds the programmes an economy may participate in (bounds `recognition`'s loop).
    uint256 public constant MAX_PROGRAMMES_PER_ECONOMY = 32;

    struct Programme {
        bytes2 creator;
        EnumerableSet.Bytes32Set participants;
    }

    IConsortium private immutable _consortium;

    mapping(bytes2 economy => mapping(bytes32 operatorId => Operator)) private _operators;
    /// @dev `_mraApproved[a][b]`: `a` approved the MRA with `b`.
    mapping(bytes2 economy => mapping(bytes2 partner => bool)) private _mraApproved;
    mapping(bytes32 programmeId => Programme) private _programmes;
    mapping(bytes2 economy => EnumerableSet.Bytes32Set) private _programmesOf;

    /// @param consortium_ The Consortium contract whose active members may write (immutable).
    /// @dev Reverts with `AeoInvalidConsortium` if `consortium_` has no code.
    constructor(IConsortium consortium_) {
        if (address(consortium_).code.length == 0) revert AeoInvalidConsortium(address(consortium_));
        _consortium = consortium_;
    }

    // =============================================================================================
    // Operators
    // =============================================================================================

    /// @inheritdoc IAeoRegistry
    function registerOperator(bytes32 operatorId, uint8 tier, uint64 validFrom, uint64 validUntil) external {
        bytes2 economy = _consortium.activeEconomyOf(msg.sender);
        if (operatorId == 0) revert AeoInvalidOperatorId(operatorId);
        _checkTerms(tier, validFrom, validUntil);
        Operator storage o = _operators[economy][operatorId];
        if (o.status != OperatorStatus.None) revert AeoOperatorAlreadyRegistered(economy, operatorId);
        o.status = OperatorStatus.Active;
        o.tier = tier;
        o.validFrom = validFrom;
        o.validUntil = validUntil;
        o.updatedAt = uint64(block.timestamp);
        emit OperatorRegistered(economy, operatorId, tier, validFrom, validUntil);
    }

    /// @inheritdoc IAeoRegistry
    function renewOperator(bytes32 operatorId, uint8 tier, uint64 validFrom, uint64 validUntil) external {
        bytes2 economy = _consortium.activeEconomyOf(msg.sender);
        _checkTerms(tier, validFrom, validUntil);
        Operator storage o = _existingOperator(economy, operatorId);
        if (o.status == OperatorStatus.Revoked) revert AeoUnexpectedOperatorStatus(economy, operatorId, o.status);
        o.tier = tier;
        o.validFrom = validFrom;
        o.validUntil = validUntil;
        o.updatedAt = uint64(block.timestamp);
        emit OperatorRenewed(economy, operatorId, tier, validFrom, validUntil);
    }

    /// @inheritdoc IAeoRegistry
    function suspendOperator(bytes32 operatorId) external {
        bytes2 economy = _consortium.activeEconomyOf(msg.sender);
        Operator storage o = _existingOperator(economy, operatorId);
        if (o.status != OperatorStatus.Active) revert AeoUnexpectedOperatorStatus(economy, operatorId, o.status);
        o.status = OperatorStatus.Suspended;
        o.updatedAt = uint64(block.timestamp);
        emit OperatorSuspended(economy, operatorId);
    }

    /// @inheritdoc IAeoRegistry
    function reinstateOperator(bytes32 operatorId) external {
        bytes2 economy = _consortium.activeEconomyOf(msg.sender);
        Operator storage o = _existingOperator(economy, operatorId);
        if (o.status != OperatorStatus.Suspended) revert AeoUnexpectedOperatorStatus(economy, operatorId, o.status);
        o.status = OperatorStatus.Active;
        o.updatedAt = uint64(block.timestamp);
        emit OperatorReinstated(economy, operatorId);
    }

    /// @inheritdoc IAeoRegistry
    function revokeOperator(bytes32 operatorId) external {
        bytes2 economy = _consortium.activeEconomyOf(msg.sender);
        Operator storage o = _existingOperator(economy, operatorId);
        if (o.status == OperatorStatus.Revoked) revert AeoUnexpectedOperatorStatus(economy, operatorId, o.status);
        o.status = OperatorStatus.Revoked;
        o.updatedAt = uint64(block.timestamp);
        emit OperatorRevoked(economy, operatorId);
    }

    // =============================================================================================
    // MRAs
    // =============================================================================================

    /// @inheritdoc IAeoRegistry
    function approveMra(bytes2 partner) external {
        bytes2 economy = _consortium.activeEconomyOf(msg.sender);
        if (partner == economy) revert AeoSelfMra(economy);
        if (!_consortium.isActiveMember(partner)) revert AeoPartnerNotActive(partner);
        if (_mraApproved[economy][partner]) revert AeoMraAlreadyApproved(economy, partner);
        _mraApproved[economy][partner] = true;
        emit MraApproved(economy, partner);
        if (_mraApproved[partner][economy]) emit MraEstablished(economy, partner);
    }

    /// @inheritdoc IAeoRegistry
    function terminateMra(bytes2 partner) external {
        bytes2 economy = _consortium.activeEconomyOf(msg.sender);
        bool mine = _mraApproved[economy][partner];
        bool theirs = _mraApproved[partner][economy];
        if (!mine && !theirs) revert AeoNoMra(economy, partner);
        delete _mraApproved[economy][partner];
        delete _mraApproved[partner][economy];
        emit MraTerminated(economy, partner, mine && theirs);
    }

    // =============================================================================================
    // Programmes
    // =============================================================================================

    /// @inheritdoc IAeoRegistry
    function createProgramme(bytes32 programmeId) external {
        bytes2 economy = _consortium.activeEconomyOf(msg.sender);
        if (programmeId == 0) revert AeoInvalidProgrammeId(programmeId);
        Programme storage p = _programmes[programmeId];
        if (p.creator != 0) revert AeoProgrammeExists(programmeId);
        p.creator = economy;
        emit ProgrammeCreated(programmeId, economy);
        _join(programmeId, p, economy);
    }

    /// @inheritdoc IAeoRegistry
    function joinProgramme(bytes32 programmeId) external {
        bytes2 economy = _consortium.activeEconomyOf(msg.sender);
        Programme storage p = _programmes[programmeId];
        if (p.creator == 0) revert AeoUnknownProgramme(programmeId);
        if (p.participants.contains(bytes32(economy))) revert AeoAlreadyInProgramme(programmeId, economy);
        _join(programmeId, p, economy);
    }

    /// @inheritdoc IAeoRegistry
    function leaveProgramme(bytes32 programmeId) external {
        bytes2 economy = _consortium.activeEconomyOf(msg.sender);
        Programme storage p = _programmes[programmeId];
        if (!p.participants.remove(bytes32(economy))) revert AeoNotInProgramme(programmeId, economy);
        _programmesOf[economy].remove(programmeId);
        emit ProgrammeLeft(programmeId, economy);
    }

    // =============================================================================================
    // Views
    // =============================================================================================

    /// @inheritdoc IAeoRegistry
    function consortium() external view returns (address) {
        return address(_consortium);
    }

    /// @inheritdoc IAeoRegistry
    function operator(bytes2 economy, bytes32 operatorId) external view returns (Operator memory) {
        return _operators[economy][operatorId];
    }

    /// @inheritdoc IAeoRegistry
    function recognition(bytes2 operatorEconomy, bytes32 operatorId, bytes2 importingEconomy)
        external
        view
        returns (bool recognized, uint8 basis)
    {
        Operator storage o = _operators[operatorEconomy][operatorId];
        if (o.status != OperatorStatus.Active || block.timestamp < o.validFrom || block.timestamp >= o.validUntil) {
            return (false, BASIS_NONE);
        }
        if (operatorEconomy == importingEconomy) return (true, BASIS_OWN);
        if (_isMraEffective(operatorEconomy, importingEconomy)) return (true, BASIS_MRA);
        EnumerableSet.Bytes32Set storage programmes = _programmesOf[operatorEconomy];
        uint256 n = programmes.length();
        for (uint256 i = 0; i < n; ++i) {
            if (_programmes[programmes.at(i)].participants.contains(bytes32(importingEconomy))) {
                return (true, BASIS_PROGRAMME);
            }
        }
        return (false, BASIS_NONE);
    }

    /// @inheritdoc IAeoRegistry
    function mra(bytes2 a, bytes2 b) external view returns (bool approvedByA, bool approvedByB, bool effective) {
        approvedByA = _mraApproved[a][b];
        approvedByB = _mraApproved[b][a];
        effective = approvedByA && approvedByB;
    }

    /// @inheritdoc IAeoRegistry
    function isMraEffective(bytes2 a, bytes2 b) external view returns (bool) {
        return _isMraEffective(a, b);
    }

    /// @inheritdoc IAeoRegistry
    function programme(bytes32 programmeId) external view returns (bytes2 creator, bytes2[] memory participants) {
        Programme storage p = _programmes[programmeId];
        creator = p.creator;
        uint256 n = p.participants.length();
        participants = new bytes2[](n);
        for (uint256 i = 0; i < n; ++i) {
            participants[i] = bytes2(p.participants.at(i));
        }
    }

    /// @inheritdoc IAeoRegistry
    function isInProgramme(bytes32 programmeId, bytes2 economy) external view returns (bool) {
        return _programmes[programmeId].participants.contains(bytes32(economy));
    }

    /// @inheritdoc IAeoRegistry
    function programmesOf(bytes2 economy) external view returns (bytes32[] memory) {
        return _programmesOf[economy].values();
    }

    // =============================================================================================
    // Internals
    // =============================================================================================

    function _checkTerms(uint8 tier, uint64 validFrom, uint64 validUntil) private pure {
        if (tier == 0) revert AeoInvalidTier(tier);
        if (validFrom >= validUntil) revert AeoInvalidValidity(validFrom, validUntil);
    }

    function _existingOperator(bytes2 economy, bytes32 operatorId) private view returns (Operator storage o) {
        o = _operators[economy][operatorId];
        if (o.status == OperatorStatus.None) revert AeoUnknownOperator(economy, operatorId);
    }

    function _isMraEffective(bytes2 a, bytes2 b) private view returns (bool) {
        return _mraApproved[a][b] && _mraApproved[b][a];
    }

    function _join(bytes32 programmeId, Programme storage p, bytes2 economy) private {
        EnumerableSet.Bytes32Set storage mine = _programmesOf[economy];
        if (mine.length() >= MAX_PROGRAMMES_PER_ECONOMY) revert AeoTooManyProgrammes(economy, mine.length() + 1);
        p.participants.add(bytes32(economy));
        mine.add(programmeId);
        emit ProgrammeJoined(programmeId, economy);
    }
}
