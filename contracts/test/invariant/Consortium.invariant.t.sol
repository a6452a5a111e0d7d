// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {BaseTest, TestHelpers, vm} from "../utils/BaseTest.sol";
import {Consortium} from "../../src/Consortium.sol";
import {IConsortium} from "../../src/interfaces/IConsortium.sol";

/// @notice Random governance and self-service traffic. After every call it compares the member
/// statuses before and after: a change is legitimate only if the call executed a proposal whose
/// yes votes reached the quorum required at that moment, and only its target changed.
contract ConsortiumHandler is TestHelpers {
    Consortium public immutable consortium;
    address[] internal actors;
    bytes2[5] internal economies = [bytes2("KZ"), "UZ", "KG", "CN", "TJ"];
    uint256 internal fresh; // counter for new account addresses

    bool public changedWithoutQuorum;
    bool public changedOtherThanTarget;
    bool public noActiveMember;
    bool public selfServiceChangedMembership;
    uint256 public membershipChanges;

    constructor(Consortium consortium_, address[] memory actors_) {
        consortium = consortium_;
        actors = actors_;
    }

    function economyList() external view returns (bytes2[5] memory) {
        return economies;
    }

    // ---- governance ------------------------------------------------------------------------------

    function propose(uint256 actorSeed, uint256 kindSeed, uint256 targetSeed, uint16 bps) external {
        address actor = actors[actorSeed % actors.length];
        bytes2 target = economies[targetSeed % economies.length];
        uint8[5] memory before = _statuses();
        uint32 required = consortium.requiredVotes();
        uint256 kind = kindSeed % 6;
        address account = address(uint160(uint256(keccak256(abi.encode("account", ++fresh)))));
        bytes32 key = keccak256(abi.encode("key", fresh));
        uint256 id;
        vm.prank(actor);
        if (kind == 0) {
            try consortium.proposeAddMember(target, key, _one(account)) returns (uint256 x) {
                id = x;
            } catch {}
        } else if (kind == 1) {
            try consortium.proposeSuspendMember(target) returns (uint256 x) {
                id = x;
            } catch {}
        } else if (kind == 2) {
            try consortium.proposeReinstateMember(target) returns (uint256 x) {
                id = x;
            } catch {}
        } else if (kind == 3) {
            try consortium.proposeRemoveMember(target) returns (uint256 x) {
                id = x;
            } catch {}
        } else if (kind == 4) {
            try consortium.proposeQuorum(uint16(bound(bps, 5001, 10_000))) returns (uint256 x) {
                id = x;
            } catch {}
        } else {
            try consortium.proposeRecovery(target, key, _one(account)) returns (uint256 x) {
                id = x;
            } catch {}
        }
        _check(before, required, id, id == 0 ? IConsortium.ProposalStatus.None : IConsortium.ProposalStatus.Pending);
    }

    function vote(uint256 actorSeed, uint256 proposalSeed, bool support) external {
        uint256 count = consortium.proposalCount();
        if (count == 0) return;
        uint256 id = 1 + proposalSeed % count;
        uint8[5] memory before = _statuses();
        uint32 required = consortium.requiredVotes();
        IConsortium.ProposalStatus statusBefore = consortium.proposal(id).status;
        vm.prank(actors[actorSeed % actors.length]);
        try consortium.vote(id, support) {} catch {}
        _check(before, required, id, statusBefore);
    }

    function execute(uint256 actorSeed, uint256 proposalSeed) external {
        uint256 count = consortium.proposalCount();
        if (count == 0) return;
        uint256 id = 1 + proposalSeed % count;
        uint8[5] memory before = _statuses();
        uint32 required = consortium.requiredVotes();
        IConsortium.ProposalStatus statusBefore = consortium.proposal(id).status;
        vm.prank(actors[actorSeed % actors.length]);
        try consortium.execute(id) {} catch {}
        _check(before, required, id, statusBefore);
    }

    function warp(uint32 seconds_) external {
        vm.warp(block.timestamp + seconds_ % 3 days);
    }

    // ---- self-service: never changes membership ---------------------------------------------------

    function rotateKey(uint256 actorSeed, bytes32 key) external {
        uint8[5] memory before = _statuses();
        vm.prank(actors[actorSeed % actors.length]);
        try consortium.rotateEncryptionKey(key) {} catch {}
        if (_changed(before)) selfServiceChangedMembership = true;
    }

    function addAccount(uint256 actorSeed) external {
        uint8[5] memory before = _statuses();
        address account = address(uint160(uint256(keccak256(abi.encode("account", ++fresh)))));
        vm.prank(actors[actorSeed % actors.length]);
        try consortium.addAccount(account) {} catch {}
        if (_changed(before)) selfServiceChangedMembership = true;
    }

    function removeAccount(uint256 actorSeed, uint256 victimSeed) external {
        uint8[5] memory before = _statuses();
        vm.prank(actors[actorSeed % actors.length]);
        try consortium.removeAccount(actors[victimSeed % actors.length]) {} catch {}
        if (_changed(before)) selfServiceChangedMembership = true;
    }

    // ---- helpers -------------------------------------------------------------------------------

    function _one(address a) internal pure returns (address[] memory l) {
        l = new address[](1);
        l[0] = a;
    }

    function _statuses() internal view returns (uint8[5] memory s) {
        for (uint256 i = 0; i < 5; ++i) {
            s[i] = uint8(consortium.memberStatus(economies[i]));
        }
    }

    function _changed(uint8[5] memory before) internal view returns (bool) {
        uint8[5] memory now_ = _statuses();
        for (uint256 i = 0; i < 5; ++i) {
            if (now_[i] != before[i]) return true;
        }
        return false;
    }

    function _check(uint8[5] memory before, uint32 required, uint256 id, IConsortium.ProposalStatus statusBefore)
        internal
    {
        if (consortium.activeMemberCount() == 0) noActiveMember = true;
        if (!_changed(before)) return;
        ++membershipChanges;
        if (id == 0 || statusBefore == IConsortium.ProposalStatus.Executed) {
            changedWithoutQuorum = true;
            return;
        }
        IConsortium.ProposalInfo memory p = consortium.proposal(id);
        if (p.status != IConsortium.ProposalStatus.Executed || p.yesVotes < required) changedWithoutQuorum = true;
        uint8[5] memory now_ = _statuses();
        for (uint256 i = 0; i < 5; ++i) {
            if (now_[i] != before[i] && economies[i] != p.target) changedOtherThanTarget = true;
        }
    }
}

contract Consortium_invariant_Test is BaseTest {
    ConsortiumHandler internal handler;
    address[] internal actors;

    function setUp() public override {
        super.setUp();
        actors.push(kz1);
        actors.push(kz2);
        actors.push(uz1);
        actors.push(kg1);
        actors.push(cn1);
        actors.push(outsider);
        handler = new ConsortiumHandler(consortium, actors);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @notice Member statuses change only through an executed proposal that reached the quorum
    /// required at execution time, only for its target, and never through self-service.
    function invariant_membershipChangesOnlyWithQuorum() public view {
        vm.assertFalse(handler.changedWithoutQuorum(), "membership changed without quorum");
        vm.assertFalse(handler.changedOtherThanTarget(), "a proposal changed another member");
        vm.assertFalse(handler.selfServiceChangedMembership(), "self-service changed membership");
    }

    /// @notice There is always an active member, and the per-account "active" cache agrees with
    /// the member statuses.
    function invariant_activeMembersAndAccountsAgree() public view {
        vm.assertFalse(handler.noActiveMember());
        vm.assertGe(consortium.activeMemberCount(), 1);
        bytes2[5] memory economies = handler.economyList();
        uint256 active;
        uint256 current;
        for (uint256 i = 0; i < 5; ++i) {
            IConsortium.MemberStatus status = consortium.memberStatus(economies[i]);
            if (status == IConsortium.MemberStatus.Active) ++active;
            if (status == IConsortium.MemberStatus.Active || status == IConsortium.MemberStatus.Suspended) ++current;
            address[] memory accounts = consortium.accountsOf(economies[i]);
            if (status == IConsortium.MemberStatus.Active || status == IConsortium.MemberStatus.Suspended) {
                vm.assertGe(accounts.length, 1);
            }
            for (uint256 j = 0; j < accounts.length; ++j) {
                vm.assertTrue(consortium.economyOf(accounts[j]) == economies[i]);
                if (status == IConsortium.MemberStatus.Active) {
                    vm.assertTrue(consortium.activeEconomyOf(accounts[j]) == economies[i]);
                }
            }
        }
        vm.assertEq(consortium.activeMemberCount(), active);
        vm.assertEq(consortium.memberCount(), current);
        uint256 required = (active * consortium.quorumBps() + 9999) / 10_000;
        vm.assertEq(consortium.requiredVotes(), required == 0 ? 1 : required);
    }
}
