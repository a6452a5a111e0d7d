// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {BaseTest, TestHelpers, vm} from "../utils/BaseTest.sol";
import {AeoRegistry} from "../../src/AeoRegistry.sol";
import {IAeoRegistry} from "../../src/interfaces/IAeoRegistry.sol";

/// @notice Random AEO traffic by the four members. A ghost model is updated with what each
/// SUCCESSFUL call must have done (and flags a success whose precondition did not hold); the
/// invariant recomputes every recognition from the model.
contract AeoHandler is TestHelpers {
    struct GhostOperator {
        uint8 status; // IAeoRegistry.OperatorStatus
        uint64 validFrom;
        uint64 validUntil;
    }

    AeoRegistry public immutable aeo;
    address[4] internal actors;
    bytes2[4] internal economies = [bytes2("KZ"), "UZ", "KG", "CN"];
    bytes32[2] internal operatorIds = [bytes32("op-1"), "op-2"];
    bytes32[2] internal programmeIds = [bytes32("apec"), "eaeu"];

    mapping(bytes2 => mapping(bytes32 => GhostOperator)) internal ghost;
    mapping(bytes2 => mapping(bytes2 => bool)) internal approved;
    mapping(bytes32 => bool) internal programmeExists;
    mapping(bytes32 => mapping(bytes2 => bool)) internal inProgramme;

    bool public unexpectedSuccess;

    constructor(AeoRegistry aeo_, address[4] memory actors_) {
        aeo = aeo_;
        actors = actors_;
    }

    function lists() external view returns (bytes2[4] memory, bytes32[2] memory) {
        return (economies, operatorIds);
    }

    /// @notice Recognition as the model says it should be.
    function expected(bytes2 operatorEconomy, bytes32 operatorId, bytes2 importer) external view returns (bool, uint8) {
        GhostOperator storage o = ghost[operatorEconomy][operatorId];
        if (o.status != 1 || block.timestamp < o.validFrom || block.timestamp >= o.validUntil) return (false, 0);
        if (operatorEconomy == importer) return (true, 1);
        if (approved[operatorEconomy][importer] && approved[importer][operatorEconomy]) return (true, 2);
        for (uint256 i = 0; i < programmeIds.length; ++i) {
            if (inProgramme[programmeIds[i]][operatorEconomy] && inProgramme[programmeIds[i]][importer]) {
                return (true, 3);
            }
        }
        return (false, 0);
    }

    // ---- operators -----------------------------------------------------------------------------

    function register(uint256 actorSeed, uint256 opSeed, uint32 fromOffset, uint32 length) external {
        (address actor, bytes2 economy) = _actor(actorSeed);
        bytes32 id = operatorIds[opSeed % 2];
        uint64 from = uint64(block.timestamp) + fromOffset % 10 days - 5 days;
        uint64 until = from + length % 30 days;
        vm.prank(actor);
        try aeo.registerOperator(id, 1, from, until) {
            GhostOperator storage o = ghost[economy][id];
            if (o.status != 0 || from >= until) unexpectedSuccess = true;
            (o.status, o.validFrom, o.validUntil) = (1, from, until);
        } catch {}
    }

    function renew(uint256 actorSeed, uint256 opSeed, uint32 length) external {
        (address actor, bytes2 economy) = _actor(actorSeed);
        bytes32 id = operatorIds[opSeed % 2];
        uint64 from = uint64(block.timestamp) - 1;
        uint64 until = from + 1 + length % 30 days;
        vm.prank(actor);
        try aeo.renewOperator(id, 2, from, until) {
            GhostOperator storage o = ghost[economy][id];
            if (o.status != 1 && o.status != 2) unexpectedSuccess = true;
            (o.validFrom, o.validUntil) = (from, until);
        } catch {}
    }

    function setStatus(uint256 actorSeed, uint256 opSeed, uint8 action) external {
        (address actor, bytes2 economy) = _actor(actorSeed);
        bytes32 id = operatorIds[opSeed % 2];
        GhostOperator storage o = ghost[economy][id];
        uint8 a = action % 3;
        vm.prank(actor);
        if (a == 0) {
            try aeo.suspendOperator(id) {
                if (o.status != 1) unexpectedSuccess = true;
                o.status = 2;
            } catch {}
        } else if (a == 1) {
            try aeo.reinstateOperator(id) {
                if (o.status != 2) unexpectedSuccess = true;
                o.status = 1;
            } catch {}
        } else {
            try aeo.revokeOperator(id) {
                if (o.status != 1 && o.status != 2) unexpectedSuccess = true;
                o.status = 3;
            } catch {}
        }
    }

    // ---- MRAs and programmes -----------------------------------------------------------------------

    function approveMra(uint256 actorSeed, uint256 partnerSeed) external {
        (address actor, bytes2 economy) = _actor(actorSeed);
        bytes2 partner = economies[partnerSeed % 4];
        vm.prank(actor);
        try aeo.approveMra(partner) {
            if (partner == economy || approved[economy][partner]) unexpectedSuccess = true;
            approved[economy][partner] = true;
        } catch {}
    }

    function terminateMra(uint256 actorSeed, uint256 partnerSeed) external {
        (address actor, bytes2 economy) = _actor(actorSeed);
        bytes2 partner = economies[partnerSeed % 4];
        vm.prank(actor);
        try aeo.terminateMra(partner) {
            if (!approved[economy][partner] && !approved[partner][economy]) unexpectedSuccess = true;
            approved[economy][partner] = false;
            approved[partner][economy] = false;
        } catch {}
    }

    function programme(uint256 actorSeed, uint256 programmeSeed, uint8 action) external {
        (address actor, bytes2 economy) = _actor(actorSeed);
        bytes32 id = programmeIds[programmeSeed % 2];
        uint8 a = action % 3;
        vm.prank(actor);
        if (a == 0) {
            try aeo.createProgramme(id) {
                if (programmeExists[id]) unexpectedSuccess = true;
                programmeExists[id] = true;
                inProgramme[id][economy] = true;
            } catch {}
        } else if (a == 1) {
            try aeo.joinProgramme(id) {
                if (!programmeExists[id] || inProgramme[id][economy]) unexpectedSuccess = true;
                inProgramme[id][economy] = true;
            } catch {}
        } else {
            try aeo.leaveProgramme(id) {
                if (!inProgramme[id][economy]) unexpectedSuccess = true;
                inProgramme[id][economy] = false;
            } catch {}
        }
    }

    function warp(uint32 seconds_) external {
        vm.warp(block.timestamp + seconds_ % 5 days);
    }

    function _actor(uint256 seed) internal view returns (address, bytes2) {
        uint256 i = seed % 4;
        return (actors[i], economies[i]);
    }
}

contract AeoRegistry_invariant_Test is BaseTest {
    AeoHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new AeoHandler(aeo, [kz1, uz1, kg1, cn1]);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @notice An operator's recognition follows its status, its validity window, the MRA state
    /// (both approvals) and the programmes, exactly as the model computes it; every success had
    /// its precondition (so revocation is terminal: nothing succeeds on a revoked operator).
    function invariant_recognitionFollowsStatusAndMra() public view {
        vm.assertFalse(handler.unexpectedSuccess(), "a call succeeded against its precondition");
        (bytes2[4] memory economies, bytes32[2] memory operatorIds) = handler.lists();
        for (uint256 e = 0; e < 4; ++e) {
            for (uint256 o = 0; o < 2; ++o) {
                for (uint256 i = 0; i < 4; ++i) {
                    (bool r, uint8 basis) = aeo.recognition(economies[e], operatorIds[o], economies[i]);
                    (bool er, uint8 eb) = handler.expected(economies[e], operatorIds[o], economies[i]);
                    vm.assertEq(r, er, "recognized");
                    vm.assertEq(basis, eb, "basis");
                }
            }
        }
    }
}
