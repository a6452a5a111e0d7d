// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {BaseTest, vm} from "./utils/BaseTest.sol";
import {AeoRegistry} from "../src/AeoRegistry.sol";
import {IAeoRegistry} from "../src/interfaces/IAeoRegistry.sol";
import {IConsortium} from "../src/interfaces/IConsortium.sol";

/// @notice Fixture: KZ registered operator OP (tier 2, valid from a day ago for a year).
abstract contract AeoTest is BaseTest {
    bytes32 internal constant OP = keccak256("KZ BIN 123456789012");
    uint64 internal validFrom;
    uint64 internal validUntil;

    function setUp() public virtual override {
        super.setUp();
        validFrom = uint64(block.timestamp - 1 days);
        validUntil = uint64(block.timestamp + 365 days);
        vm.prank(kz1);
        aeo.registerOperator(OP, 2, validFrom, validUntil);
    }

    function _status(bytes2 economy, bytes32 operatorId) internal view returns (IAeoRegistry.OperatorStatus) {
        return aeo.operator(economy, operatorId).status;
    }

    function _unexpected(bytes2 economy, bytes32 operatorId, IAeoRegistry.OperatorStatus status)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodeWithSelector(IAeoRegistry.AeoUnexpectedOperatorStatus.selector, economy, operatorId, status);
    }

    function _recognized(bytes2 importer) internal view returns (bool recognized, uint8 basis) {
        return aeo.recognition(KZ, OP, importer);
    }

    function _establishMra(bytes2 a, bytes2 b) internal {
        vm.prank(_nodeOf(a));
        aeo.approveMra(b);
        vm.prank(_nodeOf(b));
        aeo.approveMra(a);
    }
}

contract AeoRegistry_constructor_Test is AeoTest {
    function test_storesConsortium() public view {
        vm.assertEq(aeo.consortium(), address(consortium));
    }

    function test_constants() public view {
        vm.assertEq(aeo.BASIS_NONE(), 0);
        vm.assertEq(aeo.BASIS_OWN(), 1);
        vm.assertEq(aeo.BASIS_MRA(), 2);
        vm.assertEq(aeo.BASIS_PROGRAMME(), 3);
        vm.assertEq(aeo.MAX_PROGRAMMES_PER_ECONOMY(), 32);
    }

    function test_revertsWithoutCode() public {
        vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoInvalidConsortium.selector, outsider));
        new AeoRegistry(IConsortium(outsider));
    }
}

contract AeoRegistry_registerOperator_Test is AeoTest {
    function testFuzz_registers(bytes32 operatorId, uint8 tier, uint64 from, uint64 until) public {
        vm.assume(operatorId != OP);
        if (operatorId == 0) {
            vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoInvalidOperatorId.selector, operatorId));
        } else if (tier == 0) {
            vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoInvalidTier.selector, tier));
        } else if (from >= until) {
            vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoInvalidValidity.selector, from, until));
        } else {
            vm.expectEmit(true, true, true, true, address(aeo));
            emit IAeoRegistry.OperatorRegistered(UZ, operatorId, tier, from, until);
        }
        vm.prank(uz1);
        aeo.registerOperator(operatorId, tier, from, until);
        if (operatorId != 0 && tier != 0 && from < until) {
            IAeoRegistry.Operator memory o = aeo.operator(UZ, operatorId);
            vm.assertTrue(o.status == IAeoRegistry.OperatorStatus.Active);
            vm.assertEq(o.tier, tier);
            vm.assertEq(o.validFrom, from);
            vm.assertEq(o.validUntil, until);
            vm.assertEq(o.updatedAt, block.timestamp);
        }
    }

    function test_revertsOnZeroIdOrTier() public {
        vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoInvalidOperatorId.selector, bytes32(0)));
        vm.prank(uz1);
        aeo.registerOperator(0, 1, validFrom, validUntil);
        vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoInvalidTier.selector, 0));
        vm.prank(uz1);
        aeo.registerOperator("x", 0, validFrom, validUntil);
        vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoInvalidValidity.selector, validUntil, validFrom));
        vm.prank(uz1);
        aeo.registerOperator("x", 1, validUntil, validFrom);
    }

    function test_sameIdIsPerEconomy() public {
        vm.prank(uz1);
        aeo.registerOperator(OP, 1, validFrom, validUntil);
        vm.assertEq(aeo.operator(UZ, OP).tier, 1);
        vm.assertEq(aeo.operator(KZ, OP).tier, 2);
    }

    function test_revertsWhenRegisteredOrRevoked() public {
        vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoOperatorAlreadyRegistered.selector, KZ, OP));
        vm.prank(kz2);
        aeo.registerOperator(OP, 1, validFrom, validUntil);
        vm.prank(kz1);
        aeo.revokeOperator(OP);
        vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoOperatorAlreadyRegistered.selector, KZ, OP));
        vm.prank(kz1);
        aeo.registerOperator(OP, 1, validFrom, validUntil);
    }

    function test_revertsForOutsider() public {
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, outsider));
        vm.prank(outsider);
        aeo.registerOperator(OP, 1, validFrom, validUntil);
    }
}

contract AeoRegistry_renewOperator_Test is AeoTest {
    function testFuzz_renews(uint8 tier, uint64 from, uint64 until) public {
        vm.assume(tier != 0 && from < until);
        vm.expectEmit(true, true, true, true, address(aeo));
        emit IAeoRegistry.OperatorRenewed(KZ, OP, tier, from, until);
        vm.prank(kz2);
        aeo.renewOperator(OP, tier, from, until);
        IAeoRegistry.Operator memory o = aeo.operator(KZ, OP);
        vm.assertEq(o.tier, tier);
        vm.assertEq(o.validFrom, from);
        vm.assertEq(o.validUntil, until);
    }

    function test_renewsSuspendedButNotRevoked() public {
        vm.prank(kz1);
        aeo.suspendOperator(OP);
        vm.prank(kz1);
        aeo.renewOperator(OP, 3, validFrom, validUntil + 1);
        vm.assertTrue(_status(KZ, OP) == IAeoRegistry.OperatorStatus.Suspended);
        vm.prank(kz1);
        aeo.revokeOperator(OP);
        vm.expectRevert(_unexpected(KZ, OP, IAeoRegistry.OperatorStatus.Revoked));
        vm.prank(kz1);
        aeo.renewOperator(OP, 3, validFrom, validUntil);
    }

    function test_revertsOnBadTermsOrForeignOperator() public {
        vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoInvalidTier.selector, 0));
        vm.prank(kz1);
        aeo.renewOperator(OP, 0, validFrom, validUntil);
        vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoInvalidValidity.selector, validUntil, validUntil));
        vm.prank(kz1);
        aeo.renewOperator(OP, 1, validUntil, validUntil);
        vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoUnknownOperator.selector, UZ, OP));
        vm.prank(uz1); // only the registering economy
        aeo.renewOperator(OP, 1, validFrom, validUntil);
    }
}

contract AeoRegistry_suspendOperator_Test is AeoTest {
    function test_suspends() public {
        vm.expectEmit(true, true, true, true, address(aeo));
        emit IAeoRegistry.OperatorSuspended(KZ, OP);
        vm.prank(kz1);
        aeo.suspendOperator(OP);
        vm.assertTrue(_status(KZ, OP) == IAeoRegistry.OperatorStatus.Suspended);
        vm.expectRevert(_unexpected(KZ, OP, IAeoRegistry.OperatorStatus.Suspended));
        vm.prank(kz1);
        aeo.suspendOperator(OP);
    }

    function testFuzz_revertsOnUnknown(bytes32 operatorId) public {
        vm.assume(operatorId != OP);
        vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoUnknownOperator.selector, KZ, operatorId));
        vm.prank(kz1);
        aeo.suspendOperator(operatorId);
    }

    function test_otherEconomyCannotSuspend() public {
        vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoUnknownOperator.selector, UZ, OP));
        vm.prank(uz1);
        aeo.suspendOperator(OP);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, outsider));
        vm.prank(outsider);
        aeo.suspendOperator(OP);
    }
}

contract AeoRegistry_reinstateOperator_Test is AeoTest {
    function test_reinstates() public {
        vm.prank(kz1);
        aeo.suspendOperator(OP);
        vm.expectEmit(true, true, true, true, address(aeo));
        emit IAeoRegistry.OperatorReinstated(KZ, OP);
        vm.prank(kz1);
        aeo.reinstateOperator(OP);
        vm.assertTrue(_status(KZ, OP) == IAeoRegistry.OperatorStatus.Active);
    }

    function test_revertsWhenNotSuspended() public {
        vm.expectRevert(_unexpected(KZ, OP, IAeoRegistry.OperatorStatus.Active));
        vm.prank(kz1);
        aeo.reinstateOperator(OP);
        vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoUnknownOperator.selector, KZ, bytes32("x")));
        vm.prank(kz1);
        aeo.reinstateOperator("x");
    }
}

contract AeoRegistry_revokeOperator_Test is AeoTest {
    function test_revokesFromActiveOrSuspended() public {
        vm.expectEmit(true, true, true, true, address(aeo));
        emit IAeoRegistry.OperatorRevoked(KZ, OP);
        vm.prank(kz1);
        aeo.revokeOperator(OP);
        vm.assertTrue(_status(KZ, OP) == IAeoRegistry.OperatorStatus.Revoked);
        vm.expectRevert(_unexpected(KZ, OP, IAeoRegistry.OperatorStatus.Revoked));
        vm.prank(kz1);
        aeo.revokeOperator(OP);
        vm.expectRevert(_unexpected(KZ, OP, IAeoRegistry.OperatorStatus.Revoked));
        vm.prank(kz1);
        aeo.reinstateOperator(OP);

        vm.prank(uz1);
        aeo.registerOperator(OP, 1, validFrom, validUntil);
        vm.prank(uz1);
        aeo.suspendOperator(OP);
        vm.prank(uz1);
        aeo.revokeOperator(OP);
        vm.assertTrue(_status(UZ, OP) == IAeoRegistry.OperatorStatus.Revoked);
    }

    function test_revertsOnUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoUnknownOperator.selector, CN, OP));
        vm.prank(cn1);
        aeo.revokeOperator(OP);
    }
}

contract AeoRegistry_approveMra_Test is AeoTest {
    function test_effectiveOnlyWithBothApprovals() public {
        vm.expectEmit(true, true, true, true, address(aeo));
        emit IAeoRegistry.MraApproved(KZ, UZ);
        vm.prank(kz1);
        aeo.approveMra(UZ);
        (bool byA, bool byB, bool effective) = aeo.mra(KZ, UZ);
        vm.assertTrue(byA);
        vm.assertFalse(byB || effective);
        vm.assertFalse(aeo.isMraEffective(UZ, KZ));
        vm.expectEmit(true, true, true, true, address(aeo));
        emit IAeoRegistry.MraApproved(UZ, KZ);
        vm.expectEmit(true, true, true, true, address(aeo));
        emit IAeoRegistry.MraEstablished(UZ, KZ);
        vm.prank(uz1);
        aeo.approveMra(KZ);
        vm.assertTrue(aeo.isMraEffective(KZ, UZ) && aeo.isMraEffective(UZ, KZ));
    }

    function test_revertsOnSelfOrAgain() public {
        vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoSelfMra.selector, KZ));
        vm.prank(kz1);
        aeo.approveMra(KZ);
        vm.prank(kz1);
        aeo.approveMra(UZ);
        vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoMraAlreadyApproved.selector, KZ, UZ));
        vm.prank(kz2);
        aeo.approveMra(UZ);
    }

    function testFuzz_revertsOnNonMemberPartner(bytes2 partner) public {
        vm.assume(partner != KZ && partner != UZ && partner != KG && partner != CN);
        vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoPartnerNotActive.selector, partner));
        vm.prank(kz1);
        aeo.approveMra(partner);
    }

    function test_revertsOnSuspendedPartnerOrCaller() public {
        vm.prank(kz1);
        uint256 id = consortium.proposeSuspendMember(CN);
        vm.prank(uz1);
        consortium.vote(id, true);
        vm.prank(kg1);
        consortium.vote(id, true);
        vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoPartnerNotActive.selector, CN));
        vm.prank(kz1);
        aeo.approveMra(CN);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, cn1));
        vm.prank(cn1);
        aeo.approveMra(KZ);
    }
}

contract AeoRegistry_terminateMra_Test is AeoTest {
    function test_eitherSideTerminates() public {
        _establishMra(KZ, UZ);
        vm.expectEmit(true, true, true, true, address(aeo));
        emit IAeoRegistry.MraTerminated(UZ, KZ, true);
        vm.prank(uz1);
        aeo.terminateMra(KZ);
        (bool byA, bool byB, bool effective) = aeo.mra(KZ, UZ);
        vm.assertFalse(byA || byB || effective);
        // Re-establishing needs both approvals again.
        vm.prank(kz1);
        aeo.approveMra(UZ);
        vm.assertFalse(aeo.isMraEffective(KZ, UZ));
    }

    function test_withdrawsPendingApproval() public {
        vm.prank(kz1);
        aeo.approveMra(UZ);
        vm.expectEmit(true, true, true, true, address(aeo));
        emit IAeoRegistry.MraTerminated(UZ, KZ, false); // the partner declines
        vm.prank(uz1);
        aeo.terminateMra(KZ);
        (bool byA,,) = aeo.mra(KZ, UZ);
        vm.assertFalse(byA);
    }

    function testFuzz_revertsWithoutMra(bytes2 partner) public {
        vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoNoMra.selector, KZ, partner));
        vm.prank(kz1);
        aeo.terminateMra(partner);
    }
}

contract AeoRegistry_programme_Test is AeoTest {
    bytes32 internal constant APEC = keccak256("APEC authorized exporters");

    function test_createJoinLeave() public {
        vm.expectEmit(true, true, true, true, address(aeo));
        emit IAeoRegistry.ProgrammeCreated(APEC, KZ);
        vm.expectEmit(true, true, true, true, address(aeo));
        emit IAeoRegistry.ProgrammeJoined(APEC, KZ);
        vm.prank(kz1);
        aeo.createProgramme(APEC);
        vm.prank(cn1);
        aeo.joinProgramme(APEC);
        (bytes2 creator, bytes2[] memory participants) = aeo.programme(APEC);
        vm.assertTrue(creator == KZ);
        vm.assertEq(participants.length, 2);
        vm.assertTrue(aeo.isInProgramme(APEC, CN));
        vm.assertEq(aeo.programmesOf(CN).length, 1);
        vm.expectEmit(true, true, true, true, address(aeo));
        emit IAeoRegistry.ProgrammeLeft(APEC, CN);
        vm.prank(cn1);
        aeo.leaveProgramme(APEC);
        vm.assertFalse(aeo.isInProgramme(APEC, CN));
        vm.assertEq(aeo.programmesOf(CN).length, 0);
    }

    function testFuzz_createValidatesId(bytes32 programmeId) public {
        if (programmeId == 0) {
            vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoInvalidProgrammeId.selector, programmeId));
        }
        vm.prank(uz1);
        aeo.createProgramme(programmeId);
        if (programmeId != 0) {
            vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoProgrammeExists.selector, programmeId));
            vm.prank(kg1);
            aeo.createProgramme(programmeId);
        }
    }

    function test_revertsOnZeroId() public {
        vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoInvalidProgrammeId.selector, bytes32(0)));
        vm.prank(kz1);
        aeo.createProgramme(0);
    }

    function test_joinAndLeaveErrors() public {
        vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoUnknownProgramme.selector, APEC));
        vm.prank(kz1);
        aeo.joinProgramme(APEC);
        vm.prank(kz1);
        aeo.createProgramme(APEC);
        vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoAlreadyInProgramme.selector, APEC, KZ));
        vm.prank(kz2);
        aeo.joinProgramme(APEC);
        vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoNotInProgramme.selector, APEC, UZ));
        vm.prank(uz1);
        aeo.leaveProgramme(APEC);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotActiveMember.selector, outsider));
        vm.prank(outsider);
        aeo.joinProgramme(APEC);
    }

    function test_boundsProgrammesPerEconomy() public {
        for (uint256 i = 1; i <= 32; ++i) {
            vm.prank(kz1);
            aeo.createProgramme(bytes32(i));
        }
        vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoTooManyProgrammes.selector, KZ, 33));
        vm.prank(kz1);
        aeo.createProgramme(bytes32(uint256(33)));
        vm.prank(uz1);
        aeo.createProgramme(bytes32(uint256(33)));
        vm.expectRevert(abi.encodeWithSelector(IAeoRegistry.AeoTooManyProgrammes.selector, KZ, 33));
        vm.prank(kz1);
        aeo.joinProgramme(bytes32(uint256(33)));
    }
}

contract AeoRegistry_recognition_Test is AeoTest {
    bytes32 internal constant APEC = keccak256("APEC authorized exporters");

    function test_basisTable() public {
        (bool r, uint8 basis) = _recognized(KZ);
        vm.assertTrue(r);
        vm.assertEq(basis, 1); // own programme
        (r, basis) = _recognized(UZ);
        vm.assertFalse(r);
        vm.assertEq(basis, 0);
        _establishMra(KZ, UZ);
        (r, basis) = _recognized(UZ);
        vm.assertTrue(r);
        vm.assertEq(basis, 2);
        vm.prank(kg1);
        aeo.createProgramme(APEC);
        vm.prank(kz1);
        aeo.joinProgramme(APEC);
        (r, basis) = _recognized(KG);
        vm.assertTrue(r);
        vm.assertEq(basis, 3);
        vm.prank(uz1);
        aeo.joinProgramme(APEC);
        (, basis) = _recognized(UZ);
        vm.assertEq(basis, 2); // the MRA takes precedence
        (r,) = _recognized(CN);
        vm.assertFalse(r);
        vm.prank(kz1);
        aeo.leaveProgramme(APEC);
        (r,) = _recognized(KG);
        vm.assertFalse(r);
    }

    function test_followsOperatorStatus() public {
        _establishMra(KZ, UZ);
        vm.prank(kz1);
        aeo.suspendOperator(OP);
        (bool r, uint8 basis) = _recognized(UZ);
        vm.assertFalse(r);
        vm.assertEq(basis, 0);
        (r,) = _recognized(KZ);
        vm.assertFalse(r);
        vm.prank(kz1);
        aeo.reinstateOperator(OP);
        (r,) = _recognized(UZ);
        vm.assertTrue(r);
        vm.prank(kz1);
        aeo.revokeOperator(OP);
        (r,) = _recognized(UZ);
        vm.assertFalse(r);
    }

    function testFuzz_followsValidityWindow(uint64 from, uint64 until, uint64 t) public {
        vm.assume(from < until);
        vm.prank(kz1);
        aeo.renewOperator(OP, 2, from, until);
        vm.warp(t);
        (bool r, uint8 basis) = _recognized(KZ);
        vm.assertEq(r, from <= t && t < until);
        vm.assertEq(basis, r ? 1 : 0);
    }

    function testFuzz_unknownOperator(bytes2 economy, bytes32 operatorId, bytes2 importer) public view {
        vm.assume(!(economy == KZ && operatorId == OP));
        (bool r, uint8 basis) = aeo.recognition(economy, operatorId, importer);
        vm.assertFalse(r);
        vm.assertEq(basis, 0);
    }
}
