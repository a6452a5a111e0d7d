// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title IConsortium
/// @notice Membership of the CIE Ledger: one member per economy (ISO 3166-1 alpha-2 as `bytes2`
/// ASCII, "KZ" = 0x4b5a), each with an X25519 encryption key (versioned, history kept), a set of
/// node signing accounts and the issuing authorities it vouches for. Membership changes go through
/// proposals voted by the members (one vote per economy); there is no owner.
interface IConsortium {
    // ---------------------------------------------------------------------------------------------
    // Types
    // ---------------------------------------------------------------------------------------------

    /// @dev `None` = never admitted. `Removed` members keep their key history (old documents stay
    /// verifiable) and may be admitted again by an AddMember proposal.
    enum MemberStatus {
        None,
        Active,
        Suspended,
        Removed
    }

    enum ProposalKind {
        None,
        AddMember,
        SuspendMember,
        ReinstateMember,
        RemoveMember,
        ChangeQuorum,
        RecoverMember
    }

    /// @dev `Pending` proposals whose deadline passed are reported as `Expired` by `proposal()`.
    enum ProposalStatus {
        None,
        Pending,
        Executed,
        Failed,
        Rejected,
        Expired
    }

    enum Vote {
        None,
        Yes,
        No
    }

    /// @notice A founding member passed to the constructor.
    struct FoundingMember {
        bytes2 economy;
        bytes32 encryptionKey;
        address[] accounts;
    }

    /// @notice A member as returned by `member()`.
    struct MemberInfo {
        MemberStatus status;
        uint32 keyVersion;
        bytes32 encryptionKey;
        uint64 admittedAt;
        address[] accounts;
    }

    /// @notice A proposal as returned by `proposal()`.
    /// @dev `target` is the economy concerned (0 for ChangeQuorum); `encryptionKey` and `accounts`
    /// are used by AddMember and RecoverMember; `quorumBps` by ChangeQuorum.
    struct ProposalInfo {
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

    // ---------------------------------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------------------------------

    event MemberAdded(bytes2 indexed economy, bytes32 encryptionKey, uint32 keyVersion);
    event MemberSuspended(bytes2 indexed economy);
    event MemberReinstated(bytes2 indexed economy);
    event MemberRemoved(bytes2 indexed economy);
    /// @notice `forced` is true when the key was replaced by a RecoverMember proposal.
    event EncryptionKeyRotated(bytes2 indexed economy, uint32 indexed keyVersion, bytes32 encryptionKey, bool forced);
    event AccountAdded(bytes2 indexed economy, address indexed account);
    event AccountRemoved(bytes2 indexed economy, address indexed account);
    event AuthorityRegistered(bytes2 indexed economy, bytes32 indexed authorityId, address signer);
    event AuthorityRevoked(bytes2 indexed economy, bytes32 indexed authorityId);
    event QuorumChanged(uint16 previousBps, uint16 newBps);
    event ProposalCreated(
        uint256 indexed proposalId, bytes2 indexed proposer, ProposalKind indexed kind, bytes2 target, uint64 deadline
    );
    event VoteCast(uint256 indexed proposalId, bytes2 indexed economy, bool support, uint32 yesVotes, uint32 noVotes);
    event ProposalExecuted(uint256 indexed proposalId);
    /// @notice The proposal reached its quorum but its target changed meanwhile; `reason` is the
    /// ABI-encoded custom error that the same request would revert with now.
    event ProposalFailed(uint256 indexed proposalId, bytes reason);
    /// @notice Enough members voted no that the quorum can no longer be reached.
    event ProposalRejected(uint256 indexed proposalId);

    // ---------------------------------------------------------------------------------------------
    // Errors
    // ---------------------------------------------------------------------------------------------

    error ConsortiumNotActiveMember(address account);
    error ConsortiumNoFoundingMembers();
    error ConsortiumInvalidEconomy(bytes2 economy);
    error ConsortiumInvalidEncryptionKey(bytes2 economy, bytes32 encryptionKey);
    error ConsortiumInvalidAccount(address account);
    error ConsortiumNoAccounts(bytes2 economy);
    error ConsortiumTooManyAccounts(bytes2 economy, uint256 count);
    error ConsortiumAccountAlreadyRegistered(address account, bytes2 economy);
    error ConsortiumUnknownAccount(bytes2 economy, address account);
    error ConsortiumLastAccount(bytes2 economy, address account);
    error ConsortiumMemberAlreadyAdmitted(bytes2 economy, MemberStatus status);
    error ConsortiumUnknownMember(bytes2 economy);
    error ConsortiumUnexpectedMemberStatus(bytes2 economy, MemberStatus status);
    error ConsortiumLastActiveMember(bytes2 economy);
    error ConsortiumUnknownKeyVersion(bytes2 economy, uint32 keyVersion);
    error ConsortiumInvalidQuorum(uint16 quorumBps);
    error ConsortiumQuorumUnchanged(uint16 quorumBps);
    error ConsortiumInvalidVotingPeriod(uint64 votingPeriod);
    error ConsortiumNothingToRecover(bytes2 economy);
    error ConsortiumUnknownProposal(uint256 proposalId);
    error ConsortiumProposalNotPending(uint256 proposalId, ProposalStatus status);
    error ConsortiumProposalExpired(uint256 proposalId, uint64 deadline);
    error ConsortiumAlreadyVoted(uint256 proposalId, bytes2 economy);
    error ConsortiumQuorumNotReached(uint256 proposalId, uint32 yesVotes, uint32 requiredVotes);
    error ConsortiumInvalidAuthority(bytes32 authorityId, address signer);
    error ConsortiumAuthorityAlreadyRegistered(bytes2 economy, bytes32 authorityId);
    error ConsortiumUnknownAuthority(bytes2 economy, bytes32 authorityId);

    // ---------------------------------------------------------------------------------------------
    // Governance
    // ---------------------------------------------------------------------------------------------

    /// @notice Proposes admitting `economy` (never admitted, or removed) with its X25519 key and
    /// node accounts; the proposer's economy votes yes. Emits ProposalCreated and VoteCast (and the
    /// execution events if that vote reaches the quorum).
    /// @dev Caller: a node account of an ACTIVE member. Reverts with `ConsortiumNotActiveMember`,
    /// `ConsortiumInvalidEconomy` (not two upper-case letters), `ConsortiumMemberAlreadyAdmitted`,
    /// `ConsortiumInvalidEncryptionKey` (0), `ConsortiumNoAccounts`, `ConsortiumTooManyAccounts`,
    /// `ConsortiumInvalidAccount` (0), `ConsortiumAccountAlreadyRegistered`.
    function proposeAddMember(bytes2 economy, bytes32 encryptionKey, address[] calldata accounts)
        external
        returns (uint256 proposalId);
    /// @notice Proposes suspending an ACTIVE member (it can then neither vote, propose nor write).
    /// The proposer's economy votes yes.
    /// @dev Caller: a node account of an ACTIVE member. Reverts with `ConsortiumNotActiveMember`,
    /// `ConsortiumUnknownMember`, `ConsortiumUnexpectedMemberStatus` (not active),
    /// `ConsortiumLastActiveMember`.
    function proposeSuspendMember(bytes2 economy) external returns (uint256 proposalId);
    /// @notice Proposes reinstating a SUSPENDED member. The proposer's economy votes yes.
    /// @dev Caller: a node account of an ACTIVE member. Reverts with `ConsortiumNotActiveMember`,
    /// `ConsortiumUnknownMember`, `ConsortiumUnexpectedMemberStatus` (not suspended).
    function proposeReinstateMember(bytes2 economy) external returns (uint256 proposalId);
    /// @notice Proposes removing an ACTIVE or SUSPENDED member: its accounts are released, its key
    /// history is kept. The proposer's economy votes yes.
    /// @dev Caller: a node account of an ACTIVE member. Reverts with `ConsortiumNotActiveMember`,
    /// `ConsortiumUnknownMember`, `ConsortiumUnexpectedMemberStatus` (already removed),
    /// `ConsortiumLastActiveMember`.
    function proposeRemoveMember(bytes2 economy) external returns (uint256 proposalId);
    /// @notice Proposes a new quorum in basis points of the active members, in [5001, 10000].
    /// The proposer's economy votes yes.
    /// @dev Caller: a node account of an ACTIVE member. Reverts with `ConsortiumNotActiveMember`,
    /// `ConsortiumInvalidQuorum`, `ConsortiumQuorumUnchanged`.
    function proposeQuorum(uint16 quorumBps) external returns (uint256 proposalId);
    /// @notice Proposes the forced replacement of a member's encryption key (if `encryptionKey` is
    /// non-zero and new) and/or of ALL its node accounts (if `accounts` is non-empty; listed
    /// accounts it already holds are kept): recovery for a member that lost its keys, also while
    /// suspended. The proposer's economy votes yes.
    /// @dev Caller: a node account of an ACTIVE member. Reverts with `ConsortiumNotActiveMember`,
    /// `ConsortiumUnknownMember`, `ConsortiumUnexpectedMemberStatus` (removed),
    /// `ConsortiumNothingToRecover`, `ConsortiumTooManyAccounts`, `ConsortiumInvalidAccount`,
    /// `ConsortiumAccountAlreadyRegistered`.
    function proposeRecovery(bytes2 economy, bytes32 encryptionKey, address[] calldata accounts)
        external
        returns (uint256 proposalId);
    /// @notice Casts the caller's ECONOMY's vote (one per economy, whichever of its accounts votes).
    /// Executes the proposal when the yes votes reach `requiredVotes()` (ceil(active * bps / 10000),
    /// at least 1); if its target changed meanwhile it ends Failed (ProposalFailed with the reason)
    /// instead of reverting; it ends Rejected once the no votes make the quorum unreachable.
    /// @dev Caller: a node account of an ACTIVE member. Reverts with `ConsortiumNotActiveMember`,
    /// `ConsortiumUnknownProposal`, `ConsortiumProposalNotPending`, `ConsortiumProposalExpired`,
    /// `ConsortiumAlreadyVoted`.
    function vote(uint256 proposalId, bool support) external;
    /// @notice Executes a pending proposal whose yes votes already reach the current requirement
    /// (useful after the requirement dropped, e.g. a member left). Same outcome as the closing vote.
    /// @dev Caller: a node account of an ACTIVE member. Reverts with `ConsortiumNotActiveMember`,
    /// `ConsortiumUnknownProposal`, `ConsortiumProposalNotPending`, `ConsortiumProposalExpired`,
    /// `ConsortiumQuorumNotReached`.
    function execute(uint256 proposalId) external;

    // ---------------------------------------------------------------------------------------------
    // Self-service
    // ---------------------------------------------------------------------------------------------

    /// @notice Self-service: the caller's economy rotates its X25519 key; the new version is
    /// returned and older versions stay readable (`encryptionKeyAt`). Self-service because only the
    /// member holds its private key and must be able to react to a compromise at once; governance
    /// can still suspend it. Emits EncryptionKeyRotated(forced = false).
    /// @dev Caller: a node account of an ACTIVE member. Reverts with `ConsortiumNotActiveMember`,
    /// `ConsortiumInvalidEncryptionKey` (0 or the current key).
    function rotateEncryptionKey(bytes32 encryptionKey) external returns (uint32 keyVersion);
    /// @notice Self-service: adds a node signing account to the caller's economy (e.g. a new node
    /// or a replacement key). Emits AccountAdded.
    /// @dev Caller: a node account of an ACTIVE member. Reverts with `ConsortiumNotActiveMember`,
    /// `ConsortiumInvalidAccount`, `ConsortiumAccountAlreadyRegistered`, `ConsortiumTooManyAccounts`.
    function addAccount(address account) external;
    /// @notice Self-service: removes a node account of the caller's economy (e.g. a leaked key),
    /// never the last one. Emits AccountRemoved.
    /// @dev Caller: a node account of an ACTIVE member (it may remove itself). Reverts with
    /// `ConsortiumNotActiveMember`, `ConsortiumUnknownAccount`, `ConsortiumLastAccount`.
    function removeAccount(address account) external;
    /// @notice Self-service: registers an issuing authority of the caller's economy (e.g. a chamber
    /// of commerce signing certificates of origin) under `authorityId` with its signer address.
    /// Ids are never reused, even after revocation. Emits AuthorityRegistered.
    /// @dev Caller: a node account of an ACTIVE member. Reverts with `ConsortiumNotActiveMember`,
    /// `ConsortiumInvalidAuthority` (id or signer 0), `ConsortiumAuthorityAlreadyRegistered`.
    function registerAuthority(bytes32 authorityId, address signer) external;
    /// @notice Self-service: revokes an issuing authority of the caller's economy for good.
    /// Emits AuthorityRevoked.
    /// @dev Caller: a node account of an ACTIVE member. Reverts with `ConsortiumNotActiveMember`,
    /// `ConsortiumUnknownAuthority` (unknown or already revoked).
    function revokeAuthority(bytes32 authorityId) external;

    // ---------------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------------

    /// @notice The economy of `account` if its member is ACTIVE; used by the registries on every
    /// write (one storage read). Anyone may call. Reverts with `ConsortiumNotActiveMember`.
    function activeEconomyOf(address account) external view returns (bytes2 economy);
    /// @notice The economy holding `account` whatever its status (0 if none). Anyone may call.
    function economyOf(address account) external view returns (bytes2 economy);
    /// @notice Whether `economy` is an ACTIVE member. Anyone may call.
    function isActiveMember(bytes2 economy) external view returns (bool);
    /// @notice The status of `economy` (None if never admitted). Anyone may call.
    function memberStatus(bytes2 economy) external view returns (MemberStatus);
    /// @notice Status, current key and version, admission time and accounts of `economy`. Anyone
    /// may call. Reverts with `ConsortiumUnknownMember`.
    function member(bytes2 economy) external view returns (MemberInfo memory);
    /// @notice The current members (ACTIVE or SUSPENDED). Anyone may call.
    function members() external view returns (bytes2[] memory economies);
    /// @notice Number of current members (ACTIVE or SUSPENDED). Anyone may call.
    function memberCount() external view returns (uint256);
    /// @notice Number of ACTIVE members (the base of the quorum). Anyone may call.
    function activeMemberCount() external view returns (uint256);
    /// @notice The node accounts of `economy`. Anyone may call.
    function accountsOf(bytes2 economy) external view returns (address[] memory accounts);
    /// @notice The current X25519 key of `economy` and its version. Anyone may call. Reverts with
    /// `ConsortiumUnknownMember`.
    function encryptionKey(bytes2 economy) external view returns (bytes32 key, uint32 keyVersion);
    /// @notice The X25519 key `economy` used at `keyVersion` (1-based), so that old documents stay
    /// verifiable. Anyone may call. Reverts with `ConsortiumUnknownKeyVersion`.
    function encryptionKeyAt(bytes2 economy, uint32 keyVersion) external view returns (bytes32 key);
    /// @notice Whether `authorityId` is a registered, unrevoked authority of `economy`. Anyone may call.
    function isAuthorityOf(bytes2 economy, bytes32 authorityId) external view returns (bool);
    /// @notice The signer of an authority and whether it is active (signer 0 if unknown). Anyone
    /// may call.
    function authority(bytes2 economy, bytes32 authorityId) external view returns (address signer, bool active);
    /// @notice The quorum in basis points of the active members. Anyone may call.
    function quorumBps() external view returns (uint16);
    /// @notice Yes votes needed now: ceil(activeMemberCount * quorumBps / 10000), at least 1.
    /// Anyone may call.
    function requiredVotes() external view returns (uint32);
    /// @notice Seconds a proposal stays open (fixed at deployment). Anyone may call.
    function votingPeriod() external view returns (uint64);
    /// @notice Number of proposals ever created (ids are 1..proposalCount). Anyone may call.
    function proposalCount() external view returns (uint256);
    /// @notice A proposal (status Expired if pending past its deadline). Anyone may call. Reverts
    /// with `ConsortiumUnknownProposal`.
    function proposal(uint256 proposalId) external view returns (ProposalInfo memory);
    /// @notice How `economy` voted on a proposal. Anyone may call.
    function voteOf(uint256 proposalId, bytes2 economy) external view returns (Vote);
}
