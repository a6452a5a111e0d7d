// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {BaseTest, vm} from "./utils/BaseTest.sol";
import {Consortium} from "../src/Consortium.sol";
import {IConsortium} from "../src/interfaces/IConsortium.sol";

/// @notice Shared helpers of the Consortium tests. Fixture: KZ (kz1, kz2), UZ, KG, CN active,
/// quorum 66.67 % => 3 of 4 votes.
abstract contract ConsortiumTest is BaseTest {
    address internal tj1 = _addr("TJ node 1");
    bytes32 internal constant TJ_KEY = keccak256("TJ x25519 v1");

    function _err(bytes4 selector, bytes2 economy) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(selector, economy);
    }

    /// @dev KZ proposes (auto yes), UZ and KG vote yes: executes at the third vote.
    function _passed(uint256 proposalId) internal returns (uint256) {
        vm.prank(uz1);
        consortium.vote(proposalId, true);
        vm.prank(kg1);
        consortium.vote(proposalId, true);
        return proposalId;
    }

    function _suspend(bytes2 economy) internal {
        vm.prank(economy == KZ ? cn1 : kz1);
        uint256 id = consortium.proposeSuspendMember(economy);
        address[3] memory voters = [kz1, uz1, kg1];
        for (
            uint256 i = 0;
            i < voters.length && consortium.proposal(id).status == IConsortium.ProposalStatus.Pending;
            ++i
        ) {
            if (consortium.voteOf(id, consortium.economyOf(voters[i])) != IConsortium.Vote.None) continue;
            if (consortium.economyOf(voters[i]) == economy) continue;
            vm.prank(voters[i]);
            consortium.vote(id, true);
        }
        if (consortium.proposal(id).status == IConsortium.ProposalStatus.Pending) {
            vm.prank(cn1);
            consortium.vote(id, true);
        }
        vm.assertTrue(consortium.memberStatus(economy) == IConsortium.MemberStatus.Suspended);
    }

    function _status(uint256 proposalId) internal view returns (IConsortium.ProposalStatus) {
        return consortium.proposal(proposalId).status;
    }
}

contract Consortium_constructor_Test is ConsortiumTest {
    function test_bootstrapsFounders() public view {
        vm.assertEq(consortium.memberCount(), 4);
        vm.assertEq(consortium.activeMemberCount(), 4);
        vm.assertEq(consortium.quorumBps(), QUORUM_BPS);
        vm.assertEq(consortium.votingPeriod(), VOTING_PERIOD);
        vm.assertEq(consortium.requiredVotes(), 3);
        vm.assertTrue(consortium.activeEconomyOf(kz1) == KZ);
        vm.assertTrue(consortium.activeEconomyOf(kz2) == KZ);
        vm.assertTrue(consortium.activeEconomyOf(cn1) == CN);
        (bytes32 key, uint32 version) = consortium.encryptionKey(UZ);
        vm.assertEq(key, UZ_KEY);
        vm.assertEq(version, 1);
        bytes2[] memory list = consortium.members();
        vm.assertEq(list.length, 4);
        vm.assertTrue(list[0] == KZ && list[1] == UZ && list[2] == KG && list[3] == CN);
        IConsortium.MemberInfo memory kz = consortium.member(KZ);
        vm.assertEq(kz.accounts.length, 2);
        vm.assertEq(kz.admittedAt, block.timestamp);
    }

    function test_emitsMemberEvents() public {
        vm.expectEmit(true, true, true, true);
        emit IConsortium.QuorumChanged(0, QUORUM_BPS);
        vm.expectEmit(true, true, true, true);
        emit IConsortium.MemberAdded(KZ, KZ_KEY, 1);
        vm.expectEmit(true, true, true, true);
        emit IConsortium.AccountAdded(KZ, kz1);
        new Consortium(_founders(), QUORUM_BPS, VOTING_PERIOD);
    }

    function test_deployerKeepsNoPower() public {
        // The deployer (this test contract) is no member: it can neither propose nor rotate keys.
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, address(this)));
        consortium.proposeRemoveMember(UZ);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, address(this)));
        consortium.rotateEncryptionKey(keccak256("x"));
    }

    function test_revertsWithoutFounders() public {
        vm.expectRevert(IConsortium.ConsortiumNoFoundingMembers.selector);
        new Consortium(new IConsortium.FoundingMember[](0), QUORUM_BPS, VOTING_PERIOD);
    }

    function testFuzz_quorumBounds(uint16 bps) public {
        if (bps < 5001 || bps > 10_000) {
            vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidQuorum.selector, bps));
            new Consortium(_founders(), bps, VOTING_PERIOD);
        } else {
            Consortium c = new Consortium(_founders(), bps, VOTING_PERIOD);
            vm.assertEq(c.quorumBps(), bps);
        }
    }

    function test_revertsOnZeroVotingPeriod() public {
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidVotingPeriod.selector, uint64(0)));
        new Consortium(_founders(), QUORUM_BPS, 0);
    }

    function testFuzz_economyCodeShape(bytes2 economy) public {
        IConsortium.FoundingMember[] memory f = new IConsortium.FoundingMember[](1);
        f[0] = IConsortium.FoundingMember(economy, KZ_KEY, _accounts(kz1));
        bool valid = uint8(economy[0]) >= 0x41 && uint8(economy[0]) <= 0x5a && uint8(economy[1]) >= 0x41
            && uint8(economy[1]) <= 0x5a;
        if (!valid) vm.expectRevert(_err(IConsortium.ConsortiumInvalidEconomy.selector, economy));
        Consortium c = new Consortium(f, QUORUM_BPS, VOTING_PERIOD);
        if (valid) vm.assertTrue(c.isActiveMember(economy));
    }

    function test_revertsOnDuplicateEconomy() public {
        IConsortium.FoundingMember[] memory f = _founders();
        f[1].economy = KZ;
        vm.expectRevert(
            abi.encodeWithSelector(
                IConsortium.ConsortiumMemberAlreadyAdmitted.selector, KZ, IConsortium.MemberStatus.Active
            )
        );
        new Consortium(f, QUORUM_BPS, VOTING_PERIOD);
    }

    function test_revertsOnZeroKey() public {
        IConsortium.FoundingMember[] memory f = _founders();
        f[2].encryptionKey = 0;
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidEncryptionKey.selector, KG, bytes32(0)));
        new Consortium(f, QUORUM_BPS, VOTING_PERIOD);
    }

    function test_revertsWithoutAccounts() public {
        IConsortium.FoundingMember[] memory f = _founders();
        f[3].accounts = new address[](0);
        vm.expectRevert(_err(IConsortium.ConsortiumNoAccounts.selector, CN));
        new Consortium(f, QUORUM_BPS, VOTING_PERIOD);
    }

    function test_revertsOnTooManyAccounts() public {
        IConsortium.FoundingMember[] memory f = _founders();
        f[3].accounts = new address[](17);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumTooManyAccounts.selector, CN, 17));
        new Consortium(f, QUORUM_BPS, VOTING_PERIOD);
    }

    function test_revertsOnZeroAccount() public {
        IConsortium.FoundingMember[] memory f = _founders();
        f[3].accounts = _accounts(address(0));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidAccount.selector, address(0)));
        new Consortium(f, QUORUM_BPS, VOTING_PERIOD);
    }

    function test_revertsOnSharedAccount() public {
        IConsortium.FoundingMember[] memory f = _founders();
        f[3].accounts = _accounts(uz1);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumAccountAlreadyRegistered.selector, uz1, UZ));
        new Consortium(f, QUORUM_BPS, VOTING_PERIOD);
    }

    function test_revertsOnRepeatedAccount() public {
        IConsortium.FoundingMember[] memory f = _founders();
        f[3].accounts = _accounts(cn1, cn1);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumAccountAlreadyRegistered.selector, cn1, CN));
        new Consortium(f, QUORUM_BPS, VOTING_PERIOD);
    }
}

contract Consortium_proposeAddMember_Test is ConsortiumTest {
    function test_createsAndAutoVotes() public {
        vm.expectEmit(true, true, true, true);
        emit IConsortium.ProposalCreated(
            1, KZ, IConsortium.ProposalKind.AddMember, TJ, uint64(block.timestamp) + VOTING_PERIOD
        );
        vm.expectEmit(true, true, true, true);
        emit IConsortium.VoteCast(1, KZ, true, 1, 0);
        vm.prank(kz1);
        uint256 id = consortium.proposeAddMember(TJ, TJ_KEY, _accounts(tj1));
        vm.assertEq(id, 1);
        vm.assertEq(consortium.proposalCount(), 1);
        IConsortium.ProposalInfo memory p = consortium.proposal(id);
        vm.assertTrue(p.kind == IConsortium.ProposalKind.AddMember);
        vm.assertTrue(p.status == IConsortium.ProposalStatus.Pending);
        vm.assertTrue(p.proposer == KZ && p.target == TJ);
        vm.assertEq(p.encryptionKey, TJ_KEY);
        vm.assertEq(p.accounts[0], tj1);
        vm.assertEq(p.yesVotes, 1);
        vm.assertTrue(consortium.voteOf(id, KZ) == IConsortium.Vote.Yes);
        vm.assertFalse(consortium.isActiveMember(TJ));
    }

    function test_executesAtQuorum() public {
        vm.prank(kz1);
        uint256 id = consortium.proposeAddMember(TJ, TJ_KEY, _accounts(tj1));
        vm.prank(uz1);
        consortium.vote(id, true);
        vm.assertFalse(consortium.isActiveMember(TJ));
        vm.expectEmit(true, true, true, true);
        emit IConsortium.MemberAdded(TJ, TJ_KEY, 1);
        vm.expectEmit(true, true, true, true);
        emit IConsortium.AccountAdded(TJ, tj1);
        vm.expectEmit(true, true, true, true);
        emit IConsortium.ProposalExecuted(id);
        vm.prank(kg1);
        consortium.vote(id, true);
        vm.assertTrue(consortium.isActiveMember(TJ));
        vm.assertTrue(consortium.activeEconomyOf(tj1) == TJ);
        vm.assertEq(consortium.activeMemberCount(), 5);
        vm.assertEq(consortium.requiredVotes(), 4); // ceil(5 * 0.6667)
        vm.assertTrue(_status(id) == IConsortium.ProposalStatus.Executed);
    }

    function test_readmitsRemovedMemberWithNewKeyVersion() public {
        vm.prank(kz1);
        _passed(consortium.proposeRemoveMember(CN));
        vm.prank(kz1);
        address cn2 = _addr("CN node 2");
        _passed(consortium.proposeAddMember(CN, keccak256("CN v2"), _accounts(cn2)));
        vm.assertTrue(consortium.isActiveMember(CN));
        (bytes32 key, uint32 version) = consortium.encryptionKey(CN);
        vm.assertEq(version, 2);
        vm.assertEq(key, keccak256("CN v2"));
        vm.assertEq(consortium.encryptionKeyAt(CN, 1), CN_KEY);
        vm.assertTrue(consortium.economyOf(cn1) == bytes2(0));
    }

    function test_revertsForOutsider() public {
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, outsider));
        vm.prank(outsider);
        consortium.proposeAddMember(TJ, TJ_KEY, _accounts(tj1));
    }

    function test_revertsForSuspendedMember() public {
        _suspend(CN);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, cn1));
        vm.prank(cn1);
        consortium.proposeAddMember(TJ, TJ_KEY, _accounts(tj1));
    }

    function test_revertsForCurrentMember() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IConsortium.ConsortiumMemberAlreadyAdmitted.selector, UZ, IConsortium.MemberStatus.Active
            )
        );
        vm.prank(kz1);
        consortium.proposeAddMember(UZ, TJ_KEY, _accounts(tj1));
    }

    function test_revertsOnTakenAccount() public {
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumAccountAlreadyRegistered.selector, kg1, KG));
        vm.prank(kz1);
        consortium.proposeAddMember(TJ, TJ_KEY, _accounts(kg1));
    }

    function testFuzz_validatesRequest(bytes2 economy, bytes32 key, address account) public {
        vm.assume(economy != KZ && economy != UZ && economy != KG && economy != CN);
        vm.assume(account != kz1 && account != kz2 && account != uz1 && account != kg1 && account != cn1);
        bool validEconomy = uint8(economy[0]) >= 0x41 && uint8(economy[0]) <= 0x5a && uint8(economy[1]) >= 0x41
            && uint8(economy[1]) <= 0x5a;
        if (!validEconomy) {
            vm.expectRevert(_err(IConsortium.ConsortiumInvalidEconomy.selector, economy));
        } else if (key == 0) {
            vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidEncryptionKey.selector, economy, key));
        } else if (account == address(0)) {
            vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidAccount.selector, account));
        }
        vm.prank(kz1);
        uint256 id = consortium.proposeAddMember(economy, key, _accounts(account));
        if (validEconomy && key != 0 && account != address(0)) {
            _passed(id);
            vm.assertTrue(consortium.activeEconomyOf(account) == economy);
        }
    }
}

contract Consortium_proposeSuspendMember_Test is ConsortiumTest {
    function test_suspendsAndBlocksMember() public {
        vm.prank(kz1);
        uint256 id = consortium.proposeSuspendMember(CN);
        vm.prank(uz1);
        consortium.vote(id, true);
        vm.expectEmit(true, true, true, true);
        emit IConsortium.MemberSuspended(CN);
        vm.prank(kg1);
        consortium.vote(id, true);
        vm.assertFalse(consortium.isActiveMember(CN));
        vm.assertEq(consortium.activeMemberCount(), 3);
        vm.assertEq(consortium.memberCount(), 4);
        vm.assertTrue(consortium.economyOf(cn1) == CN);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, cn1));
        consortium.activeEconomyOf(cn1);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, cn1));
        vm.prank(cn1);
        consortium.rotateEncryptionKey(keccak256("new"));
    }

    function test_revertsForUnknownMember() public {
        vm.expectRevert(_err(IConsortium.ConsortiumUnknownMember.selector, TJ));
        vm.prank(kz1);
        consortium.proposeSuspendMember(TJ);
    }

    function test_revertsWhenAlreadySuspended() public {
        _suspend(CN);
        vm.expectRevert(
            abi.encodeWithSelector(
                IConsortium.ConsortiumUnexpectedMemberStatus.selector, CN, IConsortium.MemberStatus.Suspended
            )
        );
        vm.prank(kz1);
        consortium.proposeSuspendMember(CN);
    }

    function test_neverLeavesZeroActiveMembers() public {
        IConsortium.FoundingMember[] memory f = new IConsortium.FoundingMember[](1);
        f[0] = IConsortium.FoundingMember(KZ, KZ_KEY, _accounts(kz1));
        Consortium solo = new Consortium(f, 10_000, VOTING_PERIOD);
        vm.expectRevert(_err(IConsortium.ConsortiumLastActiveMember.selector, KZ));
        vm.prank(kz1);
        solo.proposeSuspendMember(KZ);
    }
}

contract Consortium_proposeReinstateMember_Test is ConsortiumTest {
    function test_reinstates() public {
        _suspend(CN);
        vm.prank(kz1);
        uint256 id = consortium.proposeReinstateMember(CN);
        vm.prank(uz1);
        consortium.vote(id, true);
        // 3 active members now: required = ceil(3 * 0.6667) = 3
        vm.expectEmit(true, true, true, true);
        emit IConsortium.MemberReinstated(CN);
        vm.prank(kg1);
        consortium.vote(id, true);
        vm.assertTrue(consortium.activeEconomyOf(cn1) == CN);
        vm.assertEq(consortium.activeMemberCount(), 4);
    }

    function test_revertsWhenNotSuspended() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IConsortium.ConsortiumUnexpectedMemberStatus.selector, CN, IConsortium.MemberStatus.Active
            )
        );
        vm.prank(kz1);
        consortium.proposeReinstateMember(CN);
        vm.expectRevert(_err(IConsortium.ConsortiumUnknownMember.selector, TJ));
        vm.prank(kz1);
        consortium.proposeReinstateMember(TJ);
    }
}

contract Consortium_proposeRemoveMember_Test is ConsortiumTest {
    function test_removesMemberAndAccounts() public {
        vm.prank(kz1);
        uint256 id = consortium.proposeRemoveMember(UZ);
        vm.prank(cn1);
        consortium.vote(id, true);
        vm.expectEmit(true, true, true, true);
        emit IConsortium.MemberRemoved(UZ);
        vm.expectEmit(true, true, true, true);
        emit IConsortium.AccountRemoved(UZ, uz1);
        vm.prank(kg1);
        consortium.vote(id, true);
        vm.assertTrue(consortium.memberStatus(UZ) == IConsortium.MemberStatus.Removed);
        vm.assertEq(consortium.memberCount(), 3);
        vm.assertEq(consortium.activeMemberCount(), 3);
        vm.assertTrue(consortium.economyOf(uz1) == bytes2(0));
        vm.assertEq(consortium.accountsOf(UZ).length, 0);
        vm.assertEq(consortium.encryptionKeyAt(UZ, 1), UZ_KEY); // history kept
    }

    function test_removesSuspendedMember() public {
        _suspend(CN);
        vm.prank(kz1);
        uint256 id = consortium.proposeRemoveMember(CN);
        vm.prank(uz1);
        consortium.vote(id, true);
        vm.prank(kg1);
        consortium.vote(id, true);
        vm.assertTrue(consortium.memberStatus(CN) == IConsortium.MemberStatus.Removed);
        vm.assertEq(consortium.activeMemberCount(), 3);
    }

    function test_revertsForRemovedOrUnknown() public {
        vm.prank(kz1);
        _passed(consortium.proposeRemoveMember(CN));
        vm.expectRevert(
            abi.encodeWithSelector(
                IConsortium.ConsortiumUnexpectedMemberStatus.selector, CN, IConsortium.MemberStatus.Removed
            )
        );
        vm.prank(kz1);
        consortium.proposeRemoveMember(CN);
        vm.expectRevert(_err(IConsortium.ConsortiumUnknownMember.selector, TJ));
        vm.prank(kz1);
        consortium.proposeRemoveMember(TJ);
    }

    function test_neverRemovesLastActiveMember() public {
        address[] memory a = _accounts(uz1);
        IConsortium.FoundingMember[] memory f = new IConsortium.FoundingMember[](2);
        f[0] = IConsortium.FoundingMember(KZ, KZ_KEY, _accounts(kz1));
        f[1] = IConsortium.FoundingMember(UZ, UZ_KEY, a);
        Consortium duo = new Consortium(f, 5001, VOTING_PERIOD);
        vm.prank(kz1);
        uint256 id = duo.proposeSuspendMember(UZ);
        vm.prank(uz1);
        duo.vote(id, true);
        vm.assertEq(duo.activeMemberCount(), 1);
        vm.expectRevert(_err(IConsortium.ConsortiumLastActiveMember.selector, KZ));
        vm.prank(kz1);
        duo.proposeRemoveMember(KZ);
        // The suspended one can still be removed (quorum of 1 active: the proposer alone).
        vm.prank(kz1);
        id = duo.proposeRemoveMember(UZ);
        vm.assertTrue(duo.memberStatus(UZ) == IConsortium.MemberStatus.Removed);
    }
}

contract Consortium_proposeQuorum_Test is ConsortiumTest {
    function test_changesQuorum() public {
        vm.prank(kz1);
        uint256 id = consortium.proposeQuorum(10_000);
        vm.prank(uz1);
        consortium.vote(id, true);
        vm.expectEmit(true, true, true, true);
        emit IConsortium.QuorumChanged(QUORUM_BPS, 10_000);
        vm.prank(kg1);
        consortium.vote(id, true);
        vm.assertEq(consortium.quorumBps(), 10_000);
        vm.assertEq(consortium.requiredVotes(), 4);
    }

    function testFuzz_validatesBps(uint16 bps) public {
        if (bps < 5001 || bps > 10_000) {
            vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidQuorum.selector, bps));
        } else if (bps == QUORUM_BPS) {
            vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumQuorumUnchanged.selector, bps));
        }
        vm.prank(kz1);
        uint256 id = consortium.proposeQuorum(bps);
        if (bps >= 5001 && bps <= 10_000 && bps != QUORUM_BPS) {
            _passed(id);
            vm.assertEq(consortium.quorumBps(), bps);
            uint256 expected = (4 * uint256(bps) + 9999) / 10_000;
            vm.assertEq(consortium.requiredVotes(), expected);
        }
    }
}

contract Consortium_proposeRecovery_Test is ConsortiumTest {
    address internal uz2 = _addr("UZ node 2");

    function test_replacesKeyAndAccounts() public {
        vm.prank(kz1);
        uint256 id = consortium.proposeRecovery(UZ, keccak256("UZ v2"), _accounts(uz2));
        vm.prank(kg1);
        consortium.vote(id, true);
        vm.expectEmit(true, true, true, true);
        emit IConsortium.EncryptionKeyRotated(UZ, 2, keccak256("UZ v2"), true);
        vm.expectEmit(true, true, true, true);
        emit IConsortium.AccountRemoved(UZ, uz1);
        vm.expectEmit(true, true, true, true);
        emit IConsortium.AccountAdded(UZ, uz2);
        vm.prank(cn1);
        consortium.vote(id, true);
        vm.assertTrue(consortium.activeEconomyOf(uz2) == UZ);
        vm.assertTrue(consortium.economyOf(uz1) == bytes2(0));
        (bytes32 key, uint32 version) = consortium.encryptionKey(UZ);
        vm.assertEq(key, keccak256("UZ v2"));
        vm.assertEq(version, 2);
        vm.assertEq(consortium.encryptionKeyAt(UZ, 1), UZ_KEY);
    }

    function test_keepsListedAccounts() public {
        vm.prank(uz1);
        _passedBy(consortium.proposeRecovery(KZ, 0, _accounts(kz2, _addr("KZ node 3"))));
        address[] memory accounts = consortium.accountsOf(KZ);
        vm.assertEq(accounts.length, 2);
        vm.assertTrue(consortium.economyOf(kz1) == bytes2(0));
        vm.assertTrue(consortium.activeEconomyOf(kz2) == KZ);
        vm.assertTrue(consortium.activeEconomyOf(_addr("KZ node 3")) == KZ);
        (, uint32 version) = consortium.encryptionKey(KZ);
        vm.assertEq(version, 1);
    }

    function test_recoversSuspendedMemberWithInactiveAccounts() public {
        _suspend(CN);
        address cn2 = _addr("CN node 2");
        vm.prank(kz1);
        _passed(consortium.proposeRecovery(CN, 0, _accounts(cn2)));
        vm.assertTrue(consortium.economyOf(cn2) == CN);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, cn2));
        consortium.activeEconomyOf(cn2);
    }

    function test_revertsWhenNothingChanges() public {
        vm.expectRevert(_err(IConsortium.ConsortiumNothingToRecover.selector, UZ));
        vm.prank(kz1);
        consortium.proposeRecovery(UZ, UZ_KEY, new address[](0));
        vm.expectRevert(_err(IConsortium.ConsortiumNothingToRecover.selector, UZ));
        vm.prank(kz1);
        consortium.proposeRecovery(UZ, 0, new address[](0));
    }

    function test_revertsForUnknownOrRemoved() public {
        vm.expectRevert(_err(IConsortium.ConsortiumUnknownMember.selector, TJ));
        vm.prank(kz1);
        consortium.proposeRecovery(TJ, TJ_KEY, new address[](0));
        vm.prank(kz1);
        _passed(consortium.proposeRemoveMember(CN));
        vm.expectRevert(
            abi.encodeWithSelector(
                IConsortium.ConsortiumUnexpectedMemberStatus.selector, CN, IConsortium.MemberStatus.Removed
            )
        );
        vm.prank(kz1);
        consortium.proposeRecovery(CN, TJ_KEY, new address[](0));
    }

    function test_revertsOnAccountOfAnotherMember() public {
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumAccountAlreadyRegistered.selector, kg1, KG));
        vm.prank(kz1);
        consortium.proposeRecovery(UZ, 0, _accounts(kg1));
    }

    function _passedBy(uint256 id) internal {
        vm.prank(kg1);
        consortium.vote(id, true);
        vm.prank(cn1);
        consortium.vote(id, true);
    }
}

contract Consortium_vote_Test is ConsortiumTest {
    function test_oneVotePerEconomy() public {
        vm.prank(kz1);
        uint256 id = consortium.proposeSuspendMember(CN);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumAlreadyVoted.selector, id, KZ));
        vm.prank(kz2); // second node account of the proposer's economy
        consortium.vote(id, true);
    }

    function test_rejectsWhenQuorumUnreachable() public {
        vm.prank(kz1);
        uint256 id = consortium.proposeSuspendMember(CN);
        vm.prank(cn1);
        consortium.vote(id, false); // 1 no: 3 yes still possible
        vm.assertTrue(_status(id) == IConsortium.ProposalStatus.Pending);
        vm.expectEmit(true, true, true, true);
        emit IConsortium.ProposalRejected(id);
        vm.prank(uz1);
        consortium.vote(id, false); // 2 no: at most 2 yes < 3
        vm.assertTrue(_status(id) == IConsortium.ProposalStatus.Rejected);
        vm.expectRevert(
            abi.encodeWithSelector(
                IConsortium.ConsortiumProposalNotPending.selector, id, IConsortium.ProposalStatus.Rejected
            )
        );
        vm.prank(kg1);
        consortium.vote(id, true);
        vm.assertTrue(consortium.isActiveMember(CN));
    }

    function test_revertsAfterDeadline() public {
        vm.prank(kz1);
        uint256 id = consortium.proposeSuspendMember(CN);
        uint64 deadline = consortium.proposal(id).deadline;
        vm.warp(deadline + 1);
        vm.assertTrue(_status(id) == IConsortium.ProposalStatus.Expired);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumProposalExpired.selector, id, deadline));
        vm.prank(uz1);
        consortium.vote(id, true);
    }

    function test_votesUntilDeadlineInclusive() public {
        vm.prank(kz1);
        uint256 id = consortium.proposeSuspendMember(CN);
        vm.warp(consortium.proposal(id).deadline);
        _passed(id);
        vm.assertFalse(consortium.isActiveMember(CN));
    }

    function test_revertsOnUnknownOrClosedProposal() public {
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumUnknownProposal.selector, 7));
        vm.prank(kz1);
        consortium.vote(7, true);
        vm.prank(kz1);
        uint256 id = _passed(consortium.proposeSuspendMember(CN));
        vm.expectRevert(
            abi.encodeWithSelector(
                IConsortium.ConsortiumProposalNotPending.selector, id, IConsortium.ProposalStatus.Executed
            )
        );
        vm.prank(kz2);
        consortium.vote(id, true);
    }

    function test_revertsForSuspendedVoter() public {
        vm.prank(kz1);
        uint256 id = consortium.proposeQuorum(8000);
        _suspend(CN);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, cn1));
        vm.prank(cn1);
        consortium.vote(id, true);
    }

    /// @dev Two proposals target the same change: the second reaches quorum after the first was
    /// executed and fails cleanly (the vote succeeds, the proposal records why).
    function test_failsCleanlyWhenTargetChanged() public {
        vm.prank(kz1);
        uint256 first = consortium.proposeSuspendMember(CN);
        vm.prank(uz1);
        uint256 second = consortium.proposeSuspendMember(CN);
        vm.prank(uz1);
        consortium.vote(first, true);
        vm.prank(kg1);
        consortium.vote(first, true);
        vm.prank(kz1);
        consortium.vote(second, true);
        // 3 active members now: the third yes closes it.
        bytes memory reason = abi.encodeWithSelector(
            IConsortium.ConsortiumUnexpectedMemberStatus.selector, CN, IConsortium.MemberStatus.Suspended
        );
        vm.expectEmit(true, true, true, true);
        emit IConsortium.ProposalFailed(second, reason);
        vm.prank(kg1);
        consortium.vote(second, true);
        vm.assertTrue(_status(second) == IConsortium.ProposalStatus.Failed);
    }

    function test_addFailsWhenAccountTakenMeanwhile() public {
        vm.prank(kz1);
        uint256 id = consortium.proposeAddMember(TJ, TJ_KEY, _accounts(tj1));
        vm.prank(uz1);
        consortium.addAccount(tj1);
        vm.prank(uz1);
        consortium.vote(id, true);
        vm.prank(kg1);
        consortium.vote(id, true);
        vm.assertTrue(_status(id) == IConsortium.ProposalStatus.Failed);
        vm.assertFalse(consortium.isActiveMember(TJ));
    }

    function testFuzz_executesExactlyAtQuorum(uint16 bps, uint8 yesVoters) public {
        bps = uint16(bound(bps, 5001, 10_000));
        Consortium c = new Consortium(_founders(), bps, VOTING_PERIOD);
        uint256 required = (4 * uint256(bps) + 9999) / 10_000;
        vm.assertEq(c.requiredVotes(), required);
        address[4] memory voters = [kz1, uz1, kg1, cn1];
        yesVoters = uint8(bound(yesVoters, 1, 4));
        vm.prank(voters[0]);
        uint256 id = c.proposeQuorum(bps == 10_000 ? 5001 : 10_000);
        for (uint256 i = 1; i < yesVoters && c.proposal(id).status == IConsortium.ProposalStatus.Pending; ++i) {
            vm.prank(voters[i]);
            c.vote(id, true);
        }
        bool executed = c.proposal(id).status == IConsortium.ProposalStatus.Executed;
        vm.assertEq(executed, yesVoters >= required);
    }
}

contract Consortium_execute_Test is ConsortiumTest {
    /// @dev Yes votes already cast satisfy a requirement that dropped after a member left.
    function test_executesWhenRequirementDropped() public {
        vm.prank(kz1);
        uint256 id = consortium.proposeQuorum(10_000); // needs 3 of 4
        vm.prank(uz1);
        consortium.vote(id, true); // 2 yes
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumQuorumNotReached.selector, id, 2, 3));
        vm.prank(kz1);
        consortium.execute(id);
        // Remove KG and CN: 2 active members, requirement ceil(2 * 0.6667) = 2.
        vm.prank(kz1);
        uint256 removeCn = consortium.proposeRemoveMember(CN);
        vm.prank(uz1);
        consortium.vote(removeCn, true);
        vm.prank(kg1);
        consortium.vote(removeCn, true);
        vm.prank(kz1);
        uint256 removeKg = consortium.proposeRemoveMember(KG);
        vm.prank(uz1);
        consortium.vote(removeKg, true);
        vm.prank(kg1);
        consortium.vote(removeKg, true); // 3 active: 3 votes needed
        vm.assertEq(consortium.requiredVotes(), 2);
        vm.expectEmit(true, true, true, true);
        emit IConsortium.ProposalExecuted(id);
        vm.prank(uz1);
        consortium.execute(id);
        vm.assertEq(consortium.quorumBps(), 10_000);
    }

    function test_revertsForOutsiderAndClosed() public {
        vm.prank(kz1);
        uint256 id = consortium.proposeQuorum(10_000);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, outsider));
        vm.prank(outsider);
        consortium.execute(id);
        _passed(id);
        vm.expectRevert(
            abi.encodeWithSelector(
                IConsortium.ConsortiumProposalNotPending.selector, id, IConsortium.ProposalStatus.Executed
            )
        );
        vm.prank(kz1);
        consortium.execute(id);
    }
}

contract Consortium_rotateEncryptionKey_Test is ConsortiumTest {
    function testFuzz_rotatesAndKeepsHistory(bytes32 key1, bytes32 key2) public {
        vm.assume(key1 != 0 && key2 != 0 && key1 != KZ_KEY && key2 != key1);
        vm.expectEmit(true, true, true, true);
        emit IConsortium.EncryptionKeyRotated(KZ, 2, key1, false);
        vm.prank(kz2);
        vm.assertEq(consortium.rotateEncryptionKey(key1), 2);
        vm.prank(kz1);
        vm.assertEq(consortium.rotateEncryptionKey(key2), 3);
        (bytes32 key, uint32 version) = consortium.encryptionKey(KZ);
        vm.assertEq(key, key2);
        vm.assertEq(version, 3);
        vm.assertEq(consortium.encryptionKeyAt(KZ, 1), KZ_KEY);
        vm.assertEq(consortium.encryptionKeyAt(KZ, 2), key1);
        vm.assertEq(consortium.encryptionKeyAt(KZ, 3), key2);
    }

    function test_revertsOnZeroOrSameKey() public {
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidEncryptionKey.selector, KZ, bytes32(0)));
        vm.prank(kz1);
        consortium.rotateEncryptionKey(0);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidEncryptionKey.selector, KZ, KZ_KEY));
        vm.prank(kz1);
        consortium.rotateEncryptionKey(KZ_KEY);
    }

    function test_revertsForOutsider() public {
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, outsider));
        vm.prank(outsider);
        consortium.rotateEncryptionKey(keccak256("k"));
    }
}

contract Consortium_addAccount_Test is ConsortiumTest {
    function testFuzz_addsOwnAccount(address account) public {
        vm.assume(account != address(0) && consortium.economyOf(account) == bytes2(0));
        vm.expectEmit(true, true, true, true);
        emit IConsortium.AccountAdded(UZ, account);
        vm.prank(uz1);
        consortium.addAccount(account);
        vm.assertTrue(consortium.activeEconomyOf(account) == UZ);
    }

    function test_revertsOnZeroOrTakenAccount() public {
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidAccount.selector, address(0)));
        vm.prank(uz1);
        consortium.addAccount(address(0));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumAccountAlreadyRegistered.selector, kz2, KZ));
        vm.prank(uz1);
        consortium.addAccount(kz2);
    }

    function test_revertsBeyondLimit() public {
        for (uint256 i = 1; i < 16; ++i) {
            vm.prank(uz1);
            consortium.addAccount(address(uint160(0x1000 + i)));
        }
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumTooManyAccounts.selector, UZ, 17));
        vm.prank(uz1);
        consortium.addAccount(address(0x2000));
    }

    function test_revertsForOutsider() public {
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, outsider));
        vm.prank(outsider);
        consortium.addAccount(outsider);
    }
}

contract Consortium_removeAccount_Test is ConsortiumTest {
    function test_removesOwnAccount() public {
        vm.expectEmit(true, true, true, true);
        emit IConsortium.AccountRemoved(KZ, kz1);
        vm.prank(kz1); // may remove itself while another account remains
        consortium.removeAccount(kz1);
        vm.assertTrue(consortium.economyOf(kz1) == bytes2(0));
        vm.assertEq(consortium.accountsOf(KZ).length, 1);
    }

    function test_revertsOnLastAccount() public {
        vm.prank(kz1);
        consortium.removeAccount(kz2);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumLastAccount.selector, KZ, kz1));
        vm.prank(kz1);
        consortium.removeAccount(kz1);
    }

    function testFuzz_revertsOnForeignAccount(address account) public {
        vm.assume(account != kz1 && account != kz2);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumUnknownAccount.selector, KZ, account));
        vm.prank(kz1);
        consortium.removeAccount(account);
    }

    function test_revertsForOutsider() public {
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, outsider));
        vm.prank(outsider);
        consortium.removeAccount(kz1);
    }
}

contract Consortium_registerAuthority_Test is ConsortiumTest {
    function testFuzz_registers(bytes32 authorityId, address signer) public {
        vm.assume(authorityId != 0 && signer != address(0));
        vm.expectEmit(true, true, true, true);
        emit IConsortium.AuthorityRegistered(KZ, authorityId, signer);
        vm.prank(kz1);
        consortium.registerAuthority(authorityId, signer);
        vm.assertTrue(consortium.isAuthorityOf(KZ, authorityId));
        vm.assertFalse(consortium.isAuthorityOf(UZ, authorityId));
        (address s, bool active) = consortium.authority(KZ, authorityId);
        vm.assertEq(s, signer);
        vm.assertTrue(active);
    }

    function test_revertsOnInvalidOrDuplicate() public {
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidAuthority.selector, bytes32(0), kz1));
        vm.prank(kz1);
        consortium.registerAuthority(0, kz1);
        vm.expectRevert(
            abi.encodeWithSelector(IConsortium.ConsortiumInvalidAuthority.selector, bytes32("cci"), address(0))
        );
        vm.prank(kz1);
        consortium.registerAuthority("cci", address(0));
        vm.prank(kz1);
        consortium.registerAuthority("cci", _addr("chamber"));
        vm.expectRevert(
            abi.encodeWithSelector(IConsortium.ConsortiumAuthorityAlreadyRegistered.selector, KZ, bytes32("cci"))
        );
        vm.prank(kz2);
        consortium.registerAuthority("cci", _addr("chamber 2"));
    }

    function test_revertsForOutsider() public {
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, outsider));
        vm.prank(outsider);
        consortium.registerAuthority("cci", outsider);
    }
}

contract Consortium_revokeAuthority_Test is ConsortiumTest {
    function test_revokesForGood() public {
        vm.prank(kz1);
        consortium.registerAuthority("cci", _addr("chamber"));
        vm.expectEmit(true, true, true, true);
        emit IConsortium.AuthorityRevoked(KZ, "cci");
        vm.prank(kz2);
        consortium.revokeAuthority("cci");
        vm.assertFalse(consortium.isAuthorityOf(KZ, "cci"));
        (address signer, bool active) = consortium.authority(KZ, "cci");
        vm.assertEq(signer, _addr("chamber"));
        vm.assertFalse(active);
        // A revoked id is not reused.
        vm.expectRevert(
            abi.encodeWithSelector(IConsortium.ConsortiumAuthorityAlreadyRegistered.selector, KZ, bytes32("cci"))
        );
        vm.prank(kz1);
        consortium.registerAuthority("cci", _addr("chamber"));
    }

    function testFuzz_revertsOnUnknown(bytes32 authorityId) public {
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumUnknownAuthority.selector, KZ, authorityId));
        vm.prank(kz1);
        consortium.revokeAuthority(authorityId);
    }

    function test_otherEconomyCannotRevoke() public {
        vm.prank(kz1);
        consortium.registerAuthority("cci", _addr("chamber"));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumUnknownAuthority.selector, UZ, bytes32("cci")));
        vm.prank(uz1);
        consortium.revokeAuthority("cci");
        vm.assertTrue(consortium.isAuthorityOf(KZ, "cci"));
    }
}

contract Consortium_views_Test is ConsortiumTest {
    function test_unknownMemberViews() public {
        vm.expectRevert(_err(IConsortium.ConsortiumUnknownMember.selector, TJ));
        consortium.member(TJ);
        vm.expectRevert(_err(IConsortium.ConsortiumUnknownMember.selector, TJ));
        consortium.encryptionKey(TJ);
        vm.assertFalse(consortium.isActiveMember(TJ));
        vm.assertTrue(consortium.memberStatus(TJ) == IConsortium.MemberStatus.None);
        vm.assertEq(consortium.accountsOf(TJ).length, 0);
    }

    function testFuzz_encryptionKeyAtUnknownVersion(uint32 version) public {
        vm.assume(version != 1);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumUnknownKeyVersion.selector, KZ, version));
        consortium.encryptionKeyAt(KZ, version);
    }

    function testFuzz_activeEconomyOfUnknown(address account) public {
        vm.assume(consortium.economyOf(account) == bytes2(0));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, account));
        consortium.activeEconomyOf(account);
    }

    function test_constants() public view {
        vm.assertEq(consortium.MAX_ACCOUNTS_PER_MEMBER(), 16);
        vm.assertEq(consortium.MIN_QUORUM_BPS(), 5001);
        vm.assertEq(consortium.MAX_QUORUM_BPS(), 10_000);
    }

    function test_unknownProposal() public {
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumUnknownProposal.selector, 0));
        consortium.proposal(0);
        vm.assertTrue(consortium.voteOf(0, KZ) == IConsortium.Vote.None);
    }
}
