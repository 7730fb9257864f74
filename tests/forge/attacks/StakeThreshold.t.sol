// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProductionFixture} from "./ProductionFixture.sol";
import {FrostSigner} from "../utils/FrostSigner.sol";
import {BatchHeader} from "../../../contracts/rollup/BatchHeader.sol";
import {SequencerSet} from "../../../contracts/staking/SequencerSet.sol";

/// @notice Attack 3 (issue #10): cheap minimum-stake sybils must neither halt the set by
///         staying silent nor sign for it by outnumbering the honest seats: the >2/3 rule counts
///         active stake. On L1 the rule is the group key's installation (the ECDSA list weighs
///         stake); batches and removals carry the key's one FROST signature (issue #12), whose
///         shares are handed out by stake off-chain (tests/staking).
contract StakeThresholdTest is ProductionFixture {
    /// @notice Two silent minimum-stake sybils: the four honest (400k of 440k stake) alone
    ///         install (recover) a group key without them, and its batches append.
    function test_silentSybilsCannotHaltBatches() public {
        _stake(vm.addr(0x5B1), 0x5B1, MIN_LOCK);
        _stake(vm.addr(0x5B2), 0x5B2, MIN_LOCK);
        address[] memory honest = new address[](4);
        for (uint256 i = 0; i < 4; i++) honest[i] = vm.addr(honestKeys[i]);
        groupKey = FrostSigner.key(7);
        sset.installGroupKey(groupKey.x, groupKey.y, _sign(sset.groupKeyDigest(groupKey.x), honest));
        assertEq(sset.groupKeyX(), groupKey.x, "honest >2/3 of stake installed a key without the sybils");
        _makeCurrent(honest[0]);
        uint256 before = sc.nextIndex();
        BatchHeader memory h = _header(before, 1, "honest");
        _appendBy(h);
        assertEq(sc.nextIndex(), before + 1, "the honest key's batch appended");
        // The sybils' cost: 2 x MIN_LOCK locked for 21 days, for nothing.
    }

    /// @notice A member that never co-signs loses its seat by the set's signature (>2/3 of the
    ///         stake, no governance), keeps its stake (claimable after the delay), earns nothing.
    function test_silentCosignerLosesSeat() public {
        address sybil = vm.addr(0x5B1);
        _stake(sybil, 0x5B1, MIN_LOCK);
        address[] memory honest = new address[](4);
        for (uint256 i = 0; i < 4; i++) honest[i] = vm.addr(honestKeys[i]);
        uint256 activeBefore = pool.activeStake();
        bytes[] memory first = _frostSign(sset.silentDigest(sybil));
        sset.removeSilent(sybil, first);
        assertTrue(!pool.isActive(sybil), "the silent member is out of the active set");
        assertEq(pool.activeStake(), activeBefore - MIN_LOCK, "its stake no longer weighs");
        assertEq(pool.sequencer(sybil).amount, MIN_LOCK, "not slashed: silence is not fraud");
        // The vote cannot be replayed against another member with the same signature.
        address other = vm.addr(0x5B2);
        _stake(other, 0x5B2, MIN_LOCK);
        bytes32 otherDigest = sset.silentDigest(other);
        vm.expectRevert(
            abi.encodeWithSelector(SequencerSet.SequencerSetInvalidFrostSignature.selector, otherDigest, groupKey.x)
        );
        sset.removeSilent(other, first);
        // One signer's ECDSA signature (100k of 420k) is not the set's signature.
        address[] memory one = new address[](1);
        one[0] = honest[0];
        bytes[] memory lone = _sign(otherDigest, one);
        vm.expectRevert(abi.encodeWithSelector(SequencerSet.SequencerSetBadFrostSignature.selector, 1, 65));
        sset.removeSilent(other, lone);
        sset.removeSilent(other, _frostSign(otherDigest));
        assertTrue(!pool.isActive(other), "the set's signature removes the second silent member");
    }

    /// @notice Nine minimum-stake sybils (180k) outnumber four honest seats (400k): seats would
    ///         give them >2/3, stake does not, so they can neither install a key of their own
    ///         nor co-sign a batch with their ECDSA list.
    function test_sybilSeatMajorityCannotSign() public {
        address[] memory sybils = new address[](9);
        for (uint256 i = 0; i < 9; i++) {
            sybils[i] = vm.addr(0x5B00 + i);
            _stake(sybils[i], 0x5B00 + i, MIN_LOCK);
        }
        FrostSigner.Key memory theirs = FrostSigner.key(0x5B);
        bytes[] memory approvals = _sign(sset.groupKeyDigest(theirs.x), sybils);
        vm.expectRevert(
            abi.encodeWithSelector(SequencerSet.SequencerSetNotEnoughSignatures.selector, 9 * MIN_LOCK, 9 * MIN_LOCK + 4 * MAX_LOCK)
        );
        sset.installGroupKey(theirs.x, theirs.y, approvals);
        assertEq(sset.groupKeyX(), groupKey.x, "the honest key stays");
        _makeCurrent(sybils[0]);
        BatchHeader memory h = _header(sc.nextIndex(), 1, "sybil");
        bytes32 digest = sc.batchDigest(h);
        bytes[] memory sigs = _sign(digest, sybils);
        vm.prank(sybils[0]);
        vm.expectRevert(abi.encodeWithSelector(SequencerSet.SequencerSetBadFrostSignature.selector, 9, 65));
        sc.appendBatch(h, sigs);
        bytes[] memory own = FrostSigner.signatures(theirs, digest);
        vm.prank(sybils[0]);
        vm.expectRevert(
            abi.encodeWithSelector(SequencerSet.SequencerSetInvalidFrostSignature.selector, digest, groupKey.x)
        );
        sc.appendBatch(h, own);
    }
}
