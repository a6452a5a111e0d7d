// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {IConsortium} from "./interfaces/IConsortium.sol";

/// @title Consortium
/// @notice Who is a member of the CIE Ledger, with which keys, accounts and issuing authorities.
///
/// Two kinds of change, on purpose:
/// - Governance (proposal + vote, one vote per economy, quorum in basis points of the ACTIVE
///   members): admitting, suspending, reinstating and removing members, changing the quorum, and
///   the forced replacement of a member's key and/or node accounts (recovery when a member lost
///   them). The deployer keeps no power after the constructor.
/// - Self-service by the member's own accounts: rotating its encryption key, adding/removing its
///   own node accounts (never the last one), registering/revoking its issuing authorities. Only the
///   member holds its private keys, so only it can tell that one leaked, and it must be able to
///   react at once, without waiting for a vote of the other members. Self-service cannot change
///   WHO is a member or touch another member, and governance can still suspend a member that
///   misuses it. Self-service needs the member to be ACTIVE; a suspended member is recovered
///   through a RecoverMember proposal.
///
/// Hot path: `activeEconomyOf` (called by the registries on every write) reads ONE storage slot:
/// each account record carries a copy of "its member is active", kept in step by `_setStatus`.
contract Consortium is IConsortium {
    using EnumerableSet for EnumerableSet.Bytes32Set;
    using EnumerableSet for EnumerableSet.AddressSet;

    /// @notice Upper bound of node accounts per member (bounds the loops that keep them in step).
    uint256 public constant MAX_ACCOUNTS_PER_MEMBER = 16;
    /// @notice Lowest quorum in basis points: more than half of the active members.
    uint16 public constant MIN_QUORUM_BPS = 5001;
    /// @notice Highest quorum in basis points: all active members.
    uint16 public constant MAX_QUORUM_BPS = 10_000;

    struct Member {
        MemberStatus status;
        uint32 keyVersion;
        uint64 admittedAt;
    }

    /// @dev `active` mirrors `_members[economy].status == Active` so that `activeEconomyOf` costs
    /// one SLOAD.
    struct AccountRecord {
        bytes2 economy;
        bool active;
    }

    struct Authority {
        address signer;
        bool revoked;
    }

    struct Proposal {
        ProposalKind kind;
        ProposalStatus status;
        bytes2 proposer;
        bytes2 target;
        uint16 quorumBps;
        uint32 yesVotes;
        uint32 noVotes;
        uint64 createdAt;
        uint64 deadline;
        bytes32 encryptionKey;
        address[] accounts;
    }

    uint64 private immutable _votingPeriod;
    uint16 private _quorumBps;
    uint32 private _activeCount;
    uint256 private _proposalCount;

    /// @dev Current members (ACTIVE or SUSPENDED), as bytes32(economy).
    EnumerableSet.Bytes32Set private _currentMembers;
    mapping(bytes2 economy => Member) private _members;
    mapping(bytes2 economy => EnumerableSet.AddressSet) private _accountsOf;
    mapping(address account => AccountRecord) private _accountRecords;
    mapping(bytes2 economy => mapping(uint32 keyVersion => bytes32 key)) private _keys;
    mapping(bytes2 economy => mapping(bytes32 authorityId => Authority)) private _authorities;
    mapping(uint256 proposalId => Proposal) private _proposals;
    mapping(uint256 proposalId => mapping(bytes2 economy => Vote)) private _votes;

    /// @notice Bootstraps the founding members and the governance parameters.
    /// @dev Called once by the deployer, who keeps no power afterwards. Reverts with
    /// `ConsortiumNoFoundingMembers`, `ConsortiumInvalidQuorum`, `ConsortiumInvalidVotingPeriod`, or
    /// any error of an AddMember request (`ConsortiumInvalidEconomy`,
    /// `ConsortiumMemberAlreadyAdmitted` for a duplicate economy, `ConsortiumInvalidEncryptionKey`,
    /// `ConsortiumNoAccounts`, `ConsortiumTooManyAccounts`, `ConsortiumInvalidAccount`,
    /// `ConsortiumAccountAlreadyRegistered`).
    /// @param founders Economies with their X25519 key and node accounts (at least one each).
    /// @param quorumBps_ Votes required, in basis points of the active members, in [5001, 10000].
    /// @param votingPeriod_ Seconds a proposal stays open for votes (> 0).
    constructor(FoundingMember[] memory founders, uint16 quorumBps_, uint64 votingPeriod_) {
        if (founders.length == 0) revert ConsortiumNoFoundingMembers();
        if (quorumBps_ < MIN_QUORUM_BPS || quorumBps_ > MAX_QUORUM_BPS) revert ConsortiumInvalidQuorum(quorumBps_);
        if (votingPeriod_ == 0) revert ConsortiumInvalidVotingPeriod(votingPeriod_);
        _quorumBps = quorumBps_;
        _votingPeriod = votingPeriod_;
        emit QuorumChanged(0, quorumBps_);
        for (uint256 i = 0; i < founders.length; ++i) {
            FoundingMember memory f = founders[i];
            _revertWith(_checkAdd(f.economy, f.encryptionKey, f.accounts));
            _admit(f.economy, f.encryptionKey, f.accounts);
        }
    }

    // =============================================================================================
    // Governance
    // =============================================================================================

    /// @inheritdoc IConsortium
    function proposeAddMember(bytes2 economy, bytes32 encryptionKey_, address[] calldata accounts)
        external
        returns (uint256 proposalId)
    {
        bytes2 proposer = _activeEconomy(msg.sender);
        _revertWith(_checkAdd(economy, encryptionKey_, accounts));
        return _propose(proposer, ProposalKind.AddMember, economy, 0, encryptionKey_, accounts);
    }

    /// @inheritdoc IConsortium
    function proposeSuspendMember(bytes2 economy) external returns (uint256 proposalId) {
        bytes2 proposer = _activeEconomy(msg.sender);
        _revertWith(_checkSuspend(economy));
        return _propose(proposer, ProposalKind.SuspendMember, economy, 0, 0, new address[](0));
    }

    /// @inheritdoc IConsortium
    function proposeReinstateMember(bytes2 economy) external returns (uint256 proposalId) {
        bytes2 proposer = _activeEconomy(msg.sender);
        _revertWith(_checkReinstate(economy));
        return _propose(proposer, ProposalKind.ReinstateMember, economy, 0, 0, new address[](0));
    }

    /// @inheritdoc IConsortium
    function proposeRemoveMember(bytes2 economy) external returns (uint256 proposalId) {
        bytes2 proposer = _activeEconomy(msg.sender);
        _revertWith(_checkRemove(economy));
        return _propose(proposer, ProposalKind.RemoveMember, economy, 0, 0, new address[](0));
    }

    /// @inheritdoc IConsortium
    function proposeQuorum(uint16 quorumBps_) external returns (uint256 proposalId) {
        bytes2 proposer = _activeEconomy(msg.sender);
        _revertWith(_checkQuorum(quorumBps_));
        return _propose(proposer, ProposalKind.ChangeQuorum, 0, quorumBps_, 0, new address[](0));
    }

    /// @inheritdoc IConsortium
    function proposeRecovery(bytes2 economy, bytes32 encryptionKey_, address[] calldata accounts)
        external
        returns (uint256 proposalId)
    {
        bytes2 proposer = _activeEconomy(msg.sender);
        _revertWith(_checkRecover(economy, encryptionKey_, accounts));
        return _propose(proposer, ProposalKind.RecoverMember, economy, 0, encryptionKey_, accounts);
    }

    /// @inheritdoc IConsortium
    function vote(uint256 proposalId, bool support) external {
        bytes2 voter = _activeEconomy(msg.sender);
        Proposal storage p = _openProposal(proposalId);
        if (_votes[proposalId][voter] != Vote.None) revert ConsortiumAlreadyVoted(proposalId, voter);
        _castVote(proposalId, p, voter, support);
    }

    /// @inheritdoc IConsortium
    function execute(uint256 proposalId) external {
        _activeEconomy(msg.sender);
        Proposal storage p = _openProposal(proposalId);
        uint32 required = _requiredVotes();
        if (p.yesVotes < required) revert ConsortiumQuorumNotReached(proposalId, p.yesVotes, required);
        _execute(proposalId, p);
    }

    // =============================================================================================
    // Self-service
    // =============================================================================================

    /// @inheritdoc IConsortium
    function rotateEncryptionKey(bytes32 encryptionKey_) external returns (uint32 keyVersion) {
        bytes2 economy = _activeEconomy(msg.sender);
        Member storage m = _members[economy];
        if (encryptionKey_ == 0 || encryptionKey_ == _keys[economy][m.keyVersion]) {
            revert ConsortiumInvalidEncryptionKey(economy, encryptionKey_);
        }
        keyVersion = _setKey(economy, encryptionKey_);
        emit EncryptionKeyRotated(economy, keyVersion, encryptionKey_, false);
    }

    /// @inheritdoc IConsortium
    function addAccount(address account) external {
        bytes2 economy = _activeEconomy(msg.sender);
        if (account == address(0)) revert ConsortiumInvalidAccount(account);
        bytes2 owner = _accountRecords[account].economy;
        if (owner != 0) revert ConsortiumAccountAlreadyRegistered(account, owner);
        uint256 count = _accountsOf[economy].length();
        if (count >= MAX_ACCOUNTS_PER_MEMBER) revert ConsortiumTooManyAccounts(economy, count + 1);
        _addAccount(economy, account, true);
    }

    /// @inheritdoc IConsortium
    function removeAccount(address account) external {
        bytes2 economy = _activeEconomy(msg.sender);
        if (_accountRecords[account].economy != economy) revert ConsortiumUnknownAccount(economy, account);
        if (_accountsOf[economy].length() == 1) revert ConsortiumLastAccount(economy, account);
        _removeAccount(economy, account);
    }

    /// @inheritdoc IConsortium
    function registerAuthority(bytes32 authorityId, address signer) external {
        bytes2 economy = _activeEconomy(msg.sender);
        if (authorityId == 0 || signer == address(0)) revert ConsortiumInvalidAuthority(authorityId, signer);
        Authority storage a = _authorities[economy][authorityId];
        if (a.signer != address(0)) revert ConsortiumAuthorityAlreadyRegistered(economy, authorityId);
        a.signer = signer;
        emit AuthorityRegistered(economy, authorityId, signer);
    }

    /// @inheritdoc IConsortium
    function revokeAuthority(bytes32 authorityId) external {
        bytes2 economy = _activeEconomy(msg.sender);
        Authority storage a = _authorities[economy][authorityId];
        if (a.signer == address(0) || a.revoked) revert ConsortiumUnknownAuthority(economy, authorityId);
        a.revoked = true;
        emit AuthorityRevoked(economy, authorityId);
    }

    // =============================================================================================
    // Views
    // =============================================================================================

    /// @inheritdoc IConsortium
    function activeEconomyOf(address account) external view returns (bytes2 economy) {
        return _activeEconomy(account);
    }

    /// @inheritdoc IConsortium
    function economyOf(address account) external view returns (bytes2 economy) {
        return _accountRecords[account].economy;
    }

    /// @inheritdoc IConsortium
    function isActiveMember(bytes2 economy) external view returns (bool) {
        return _members[economy].status == MemberStatus.Active;
    }

    /// @inheritdoc IConsortium
    function memberStatus(bytes2 economy) external view returns (MemberStatus) {
        return _members[economy].status;
    }

    /// @inheritdoc IConsortium
    function member(bytes2 economy) external view returns (MemberInfo memory info) {
        Member storage m = _members[economy];
        if (m.status == MemberStatus.None) revert ConsortiumUnknownMember(economy);
        info.status = m.status;
        info.keyVersion = m.keyVersion;
        info.encryptionKey = _keys[economy][m.keyVersion];
        info.admittedAt = m.admittedAt;
        info.accounts = _accountsOf[economy].values();
    }

    /// @inheritdoc IConsortium
    function members() external view returns (bytes2[] memory economies) {
        uint256 n = _currentMembers.length();
        economies = new bytes2[](n);
        for (uint256 i = 0; i < n; ++i) {
            economies[i] = bytes2(_currentMembers.at(i));
        }
    }

    /// @inheritdoc IConsortium
    function memberCount() external view returns (uint256) {
        return _currentMembers.length();
    }

    /// @inheritdoc IConsortium
    function activeMemberCount() external view returns (uint256) {
        return _activeCount;
    }

    /// @inheritdoc IConsortium
    function accountsOf(bytes2 economy) external view returns (address[] memory accounts) {
        return _accountsOf[economy].values();
    }

    /// @inheritdoc IConsortium
    function encryptionKey(bytes2 economy) external view returns (bytes32 key, uint32 keyVersion) {
        keyVersion = _members[economy].keyVersion;
        if (keyVersion == 0) revert ConsortiumUnknownMember(economy);
        key = _keys[economy][keyVersion];
    }

    /// @inheritdoc IConsortium
    function encryptionKeyAt(bytes2 economy, uint32 keyVersion) external view returns (bytes32 key) {
        if (keyVersion == 0 || keyVersion > _members[economy].keyVersion) {
            revert ConsortiumUnknownKeyVersion(economy, keyVersion);
        }
        return _keys[economy][keyVersion];
    }

    /// @inheritdoc IConsortium
    function isAuthorityOf(bytes2 economy, bytes32 authorityId) external view returns (bool) {
        Authority storage a = _authorities[economy][authorityId];
        return a.signer != address(0) && !a.revoked;
    }

    /// @inheritdoc IConsortium
    function authority(bytes2 economy, bytes32 authorityId) external view returns (address signer, bool active) {
        Authority storage a = _authorities[economy][authorityId];
        return (a.signer, a.signer != address(0) && !a.revoked);
    }

    /// @inheritdoc IConsortium
    function quorumBps() external view returns (uint16) {
        return _quorumBps;
    }

    /// @inheritdoc IConsortium
    function requiredVotes() external view returns (uint32) {
        return _requiredVotes();
    }

    /// @inheritdoc IConsortium
    function votingPeriod() external view returns (uint64) {
        return _votingPeriod;
    }

    /// @inheritdoc IConsortium
    function proposalCount() external view returns (uint256) {
        return _proposalCount;
    }

    /// @inheritdoc IConsortium
    function proposal(uint256 proposalId) external view returns (ProposalInfo memory info) {
        Proposal storage p = _proposals[proposalId];
        if (p.kind == ProposalKind.None) revert ConsortiumUnknownProposal(proposalId);
        info.kind = p.kind;
        info.status = _statusOf(p);
        info.proposer = p.proposer;
        info.target = p.target;
        info.quorumBps = p.quorumBps;
        info.yesVotes = p.yesVotes;
        info.noVotes = p.noVotes;
        info.createdAt = p.createdAt;
        info.deadline = p.deadline;
        info.encryptionKey = p.encryptionKey;
        info.accounts = p.accounts;
    }

    /// @inheritdoc IConsortium
    function voteOf(uint256 proposalId, bytes2 economy) external view returns (Vote) {
        return _votes[proposalId][economy];
    }

    // =============================================================================================
    // Internals: proposals
    // =============================================================================================

    function _propose(
        bytes2 proposer,
        ProposalKind kind,
        bytes2 target,
        uint16 quorumBps_,
        bytes32 encryptionKey_,
        address[] memory accounts
    ) private returns (uint256 proposalId) {
        proposalId = ++_proposalCount;
        Proposal storage p = _proposals[proposalId];
        p.kind = kind;
        p.status = ProposalStatus.Pending;
        p.proposer = proposer;
        p.target = target;
        p.quorumBps = quorumBps_;
        p.createdAt = uint64(block.timestamp);
        p.deadline = uint64(block.timestamp) + _votingPeriod;
        p.encryptionKey = encryptionKey_;
        p.accounts = accounts;
        emit ProposalCreated(proposalId, proposer, kind, target, p.deadline);
        _castVote(proposalId, p, proposer, true);
    }

    function _openProposal(uint256 proposalId) private view returns (Proposal storage p) {
        p = _proposals[proposalId];
        if (p.kind == ProposalKind.None) revert ConsortiumUnknownProposal(proposalId);
        if (p.status != ProposalStatus.Pending) revert ConsortiumProposalNotPending(proposalId, p.status);
        if (block.timestamp > p.deadline) revert ConsortiumProposalExpired(proposalId, p.deadline);
    }

    function _castVote(uint256 proposalId, Proposal storage p, bytes2 voter, bool support) private {
        if (support) {
            _votes[proposalId][voter] = Vote.Yes;
            ++p.yesVotes;
        } else {
            _votes[proposalId][voter] = Vote.No;
            ++p.noVotes;
        }
        emit VoteCast(proposalId, voter, support, p.yesVotes, p.noVotes);

        uint32 required = _requiredVotes();
        if (p.yesVotes >= required) {
            _execute(proposalId, p);
        } else if (p.noVotes > _activeCount - required) {
            p.status = ProposalStatus.Rejected;
            emit ProposalRejected(proposalId);
        }
    }

    /// @dev Re-checks the request against the current state: if its target changed meanwhile the
    /// proposal ends as Failed (with the reason) instead of reverting the vote that closed it.
    function _execute(uint256 proposalId, Proposal storage p) private {
        ProposalKind kind = p.kind;
        bytes2 target = p.target;
        bytes memory reason;
        if (kind == ProposalKind.AddMember) reason = _checkAdd(target, p.encryptionKey, p.accounts);
        else if (kind == ProposalKind.SuspendMember) reason = _checkSuspend(target);
        else if (kind == ProposalKind.ReinstateMember) reason = _checkReinstate(target);
        else if (kind == ProposalKind.RemoveMember) reason = _checkRemove(target);
        else if (kind == ProposalKind.ChangeQuorum) reason = _checkQuorum(p.quorumBps);
        else reason = _checkRecover(target, p.encryptionKey, p.accounts);

        if (reason.length != 0) {
            p.status = ProposalStatus.Failed;
            emit ProposalFailed(proposalId, reason);
            return;
        }
        p.status = ProposalStatus.Executed;
        if (kind == ProposalKind.AddMember) {
            _admit(target, p.encryptionKey, p.accounts);
        } else if (kind == ProposalKind.SuspendMember) {
            _setStatus(target, MemberStatus.Suspended);
            emit MemberSuspended(target);
        } else if (kind == ProposalKind.ReinstateMember) {
            _setStatus(target, MemberStatus.Active);
            emit MemberReinstated(target);
        } else if (kind == ProposalKind.RemoveMember) {
            _remove(target);
        } else if (kind == ProposalKind.ChangeQuorum) {
            uint16 previous = _quorumBps;
            _quorumBps = p.quorumBps;
            emit QuorumChanged(previous, p.quorumBps);
        } else {
            _recover(target, p.encryptionKey, p.accounts);
        }
        emit ProposalExecuted(proposalId);
    }

    function _statusOf(Proposal storage p) private view returns (ProposalStatus) {
        if (p.status == ProposalStatus.Pending && block.timestamp > p.deadline) return ProposalStatus.Expired;
        return p.status;
    }

    /// @dev ceil(active * bps / 10000), at least 1.
    function _requiredVotes() private view returns (uint32) {
        uint256 required = (uint256(_activeCount) * _quorumBps + 9999) / 10_000;
        // forge-lint: disable-next-line(unsafe-typecast) (required <= active count, a uint32)
        return required == 0 ? 1 : uint32(required);
    }

    // =============================================================================================
    // Internals: preconditions. Each returns the ABI-encoded error, or empty bytes when the request
    // applies to the current state. Used to revert at proposal time and to fail cleanly at
    // execution time.
    // =============================================================================================

    function _checkAdd(bytes2 economy, bytes32 key, address[] memory accounts) private view returns (bytes memory) {
        if (!_isEconomyCode(economy)) return abi.encodeWithSelector(ConsortiumInvalidEconomy.selector, economy);
        MemberStatus status = _members[economy].status;
        if (status == MemberStatus.Active || status == MemberStatus.Suspended) {
            return abi.encodeWithSelector(ConsortiumMemberAlreadyAdmitted.selector, economy, status);
        }
        if (key == 0) return abi.encodeWithSelector(ConsortiumInvalidEncryptionKey.selector, economy, key);
        if (accounts.length == 0) return abi.encodeWithSelector(ConsortiumNoAccounts.selector, economy);
        return _checkAccounts(economy, accounts);
    }

    function _checkSuspend(bytes2 economy) private view returns (bytes memory) {
        MemberStatus status = _members[economy].status;
        if (status == MemberStatus.None) return abi.encodeWithSelector(ConsortiumUnknownMember.selector, economy);
        if (status != MemberStatus.Active) {
            return abi.encodeWithSelector(ConsortiumUnexpectedMemberStatus.selector, economy, status);
        }
        if (_activeCount == 1) return abi.encodeWithSelector(ConsortiumLastActiveMember.selector, economy);
        return "";
    }

    function _checkReinstate(bytes2 economy) private view returns (bytes memory) {
        MemberStatus status = _members[economy].status;
        if (status == MemberStatus.None) return abi.encodeWithSelector(ConsortiumUnknownMember.selector, economy);
        if (status != MemberStatus.Suspended) {
            return abi.encodeWithSelector(ConsortiumUnexpectedMemberStatus.selector, economy, status);
        }
        return "";
    }

    function _checkRemove(bytes2 economy) private view returns (bytes memory) {
        MemberStatus status = _members[economy].status;
        if (status == MemberStatus.None) return abi.encodeWithSelector(ConsortiumUnknownMember.selector, economy);
        if (status == MemberStatus.Removed) {
            return abi.encodeWithSelector(ConsortiumUnexpectedMemberStatus.selector, economy, status);
        }
        if (status == MemberStatus.Active && _activeCount == 1) {
            return abi.encodeWithSelector(ConsortiumLastActiveMember.selector, economy);
        }
        return "";
    }

    function _checkQuorum(uint16 bps) private view returns (bytes memory) {
        if (bps < MIN_QUORUM_BPS || bps > MAX_QUORUM_BPS) {
            return abi.encodeWithSelector(ConsortiumInvalidQuorum.selector, bps);
        }
        if (bps == _quorumBps) return abi.encodeWithSelector(ConsortiumQuorumUnchanged.selector, bps);
        return "";
    }

    function _checkRecover(bytes2 economy, bytes32 key, address[] memory accounts) private view returns (bytes memory) {
        Member storage m = _members[economy];
        MemberStatus status = m.status;
        if (status == MemberStatus.None) return abi.encodeWithSelector(ConsortiumUnknownMember.selector, economy);
        if (status == MemberStatus.Removed) {
            return abi.encodeWithSelector(ConsortiumUnexpectedMemberStatus.selector, economy, status);
        }
        bool keyChanges = key != 0 && key != _keys[economy][m.keyVersion];
        if (!keyChanges && accounts.length == 0) {
            return abi.encodeWithSelector(ConsortiumNothingToRecover.selector, economy);
        }
        if (accounts.length != 0) return _checkAccounts(economy, accounts);
        return "";
    }

    /// @dev Accounts must be non-zero, distinct, at most MAX_ACCOUNTS_PER_MEMBER, and not held by
    /// another economy (accounts already held by `economy` itself are fine: recovery may keep some).
    function _checkAccounts(bytes2 economy, address[] memory accounts) private view returns (bytes memory) {
        if (accounts.length > MAX_ACCOUNTS_PER_MEMBER) {
            return abi.encodeWithSelector(ConsortiumTooManyAccounts.selector, economy, accounts.length);
        }
        for (uint256 i = 0; i < accounts.length; ++i) {
            address account = accounts[i];
            if (account == address(0)) return abi.encodeWithSelector(ConsortiumInvalidAccount.selector, account);
            bytes2 owner = _accountRecords[account].economy;
            if (owner != 0 && owner != economy) {
                return abi.encodeWithSelector(ConsortiumAccountAlreadyRegistered.selector, account, owner);
            }
            for (uint256 j = 0; j < i; ++j) {
                if (accounts[j] == account) {
                    return abi.encodeWithSelector(ConsortiumAccountAlreadyRegistered.selector, account, economy);
                }
            }
        }
        return "";
    }

    // =============================================================================================
    // Internals: state changes
    // =============================================================================================

    function _admit(bytes2 economy, bytes32 key, address[] memory accounts) private {
        Member storage m = _members[economy];
        m.admittedAt = uint64(block.timestamp);
        uint32 keyVersion = _setKey(economy, key);
        _setStatus(economy, MemberStatus.Active);
        emit MemberAdded(economy, key, keyVersion);
        for (uint256 i = 0; i < accounts.length; ++i) {
            _addAccount(economy, accounts[i], true);
        }
    }

    function _remove(bytes2 economy) private {
        _setStatus(economy, MemberStatus.Removed);
        emit MemberRemoved(economy);
        EnumerableSet.AddressSet storage accounts = _accountsOf[economy];
        while (accounts.length() != 0) {
            _removeAccount(economy, accounts.at(accounts.length() - 1));
        }
    }

    function _recover(bytes2 economy, bytes32 key, address[] memory accounts) private {
        Member storage m = _members[economy];
        if (key != 0 && key != _keys[economy][m.keyVersion]) {
            uint32 keyVersion = _setKey(economy, key);
            emit EncryptionKeyRotated(economy, keyVersion, key, true);
        }
        if (accounts.length == 0) return;
        bool active = m.status == MemberStatus.Active;
        EnumerableSet.AddressSet storage current = _accountsOf[economy];
        // Drop the accounts that are not kept, then add the new ones.
        for (uint256 i = current.length(); i > 0; --i) {
            address account = current.at(i - 1);
            bool kept = false;
            for (uint256 j = 0; j < accounts.length; ++j) {
                if (accounts[j] == account) {
                    kept = true;
                    break;
                }
            }
            if (!kept) _removeAccount(economy, account);
        }
        for (uint256 j = 0; j < accounts.length; ++j) {
            if (!current.contains(accounts[j])) _addAccount(economy, accounts[j], active);
        }
    }

    function _setKey(bytes2 economy, bytes32 key) private returns (uint32 keyVersion) {
        Member storage m = _members[economy];
        keyVersion = m.keyVersion + 1;
        m.keyVersion = keyVersion;
        _keys[economy][keyVersion] = key;
    }

    /// @dev Single place where a member's status changes: keeps the active count, the set of
    /// current members and the per-account `active` copies in step.
    function _setStatus(bytes2 economy, MemberStatus status) private {
        Member storage m = _members[economy];
        bool wasActive = m.status == MemberStatus.Active;
        bool isActive = status == MemberStatus.Active;
        m.status = status;
        if (status == MemberStatus.Removed) _currentMembers.remove(bytes32(economy));
        else _currentMembers.add(bytes32(economy));
        if (wasActive == isActive) return;
        if (isActive) ++_activeCount;
        else --_activeCount;
        EnumerableSet.AddressSet storage accounts = _accountsOf[economy];
        uint256 n = accounts.length();
        for (uint256 i = 0; i < n; ++i) {
            _accountRecords[accounts.at(i)].active = isActive;
        }
    }

    function _addAccount(bytes2 economy, address account, bool active) private {
        _accountsOf[economy].add(account);
        _accountRecords[account] = AccountRecord({economy: economy, active: active});
        emit AccountAdded(economy, account);
    }

    function _removeAccount(bytes2 economy, address account) private {
        _accountsOf[economy].remove(account);
        delete _accountRecords[account];
        emit AccountRemoved(economy, account);
    }

    // =============================================================================================
    // Internals: helpers
    // =============================================================================================

    function _activeEconomy(address account) private view returns (bytes2) {
        AccountRecord memory r = _accountRecords[account];
        if (!r.active) revert ConsortiumNotActiveMember(account);
        return r.economy;
    }

    /// @dev Two upper-case ASCII letters (ISO 3166-1 alpha-2 shape; the list itself is not checked).
    function _isEconomyCode(bytes2 economy) private pure returns (bool) {
        uint8 a = uint8(economy[0]);
        uint8 b = uint8(economy[1]);
        return a >= 0x41 && a <= 0x5a && b >= 0x41 && b <= 0x5a;
    }

    function _revertWith(bytes memory reason) private pure {
        if (reason.length == 0) return;
        assembly ("memory-safe") {
            revert(add(reason, 0x20), mload(reason))
        }
    }
}
