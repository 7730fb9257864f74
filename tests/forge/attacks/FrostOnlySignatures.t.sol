// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProductionFixture} from "./ProductionFixture.sol";
import {FrostSigner} from "../utils/FrostSigner.sol";
import {BatchHeader} from "../../../contracts/rollup/BatchHeader.sol";
import {SequencerSet} from "../../../contracts/staking/SequencerSet.sol";

/// @notice Issue #12: batches, reselection and the removal of a silent member are signed by the
///         set's FROST group key only; the >2/3-of-stake ECDSA list installs (or recovers) that key
///         and does nothing else. Before any key is installed, an ECDSA list must not append a
///         batch, replace the current sequencer or remove a member.
contract FrostOnlyBeforeKeyTest is ProductionFixture {
    /// @dev The set as deployed, before its first key.
    function _installsGroupKey() internal pure override returns (bool) {
        return false;
    }

    /// @notice Every honest signer's ECDSA signature over a batch digest (all of the stake) does
    ///         not append a batch while the set has no group key.
    function test_ecdsaListCannotAppendBatch() public {
        uint256 before = sc.nextIndex();
        BatchHeader memory h = _header(before, 1, "ecdsa");
        bytes[] memory sigs = _sign(sc.batchDigest(h), _allActive());
        address cur = sset.currentSequencer();
        vm.prank(cur);
        vm.expectRevert(abi.encodeWithSelector(SequencerSet.SequencerSetNoGroupKey.selector));
        sc.appendBatch(h, sigs);
        assertEq(sc.nextIndex(), before, "no batch was appended");
    }

    /// @notice The whole set's ECDSA list over {reselectDigest} does not replace the current
    ///         sequencer while the set has no group key.
    function test_ecdsaListCannotReselect() public {
        address cur = sset.currentSequencer();
        uint256 round = sset.epochInfo().round;
        bytes[] memory sigs = _sign(sset.reselectDigest(), _allActive());
        vm.expectRevert(abi.encodeWithSelector(SequencerSet.SequencerSetNoGroupKey.selector));
        sset.reselectWithSignatures(sigs);
        assertEq(sset.currentSequencer(), cur, "the current sequencer stays");
        assertEq(sset.epochInfo().round, round, "no rotation");
    }

    /// @notice The honest set's ECDSA list over {silentDigest} does not remove a member while the
    ///         set has no group key.
    function test_ecdsaListCannotRemoveSilent() public {
        address member = vm.addr(0x5B1);
        _stake(member, 0x5B1, MIN_LOCK);
        address[] memory honest = new address[](4);
        for (uint256 i = 0; i < 4; i++) honest[i] = vm.addr(honestKeys[i]);
        bytes[] memory sigs = _sign(sset.silentDigest(member), honest);
        vm.expectRevert(abi.encodeWithSelector(SequencerSet.SequencerSetNoGroupKey.selector));
        sset.removeSilent(member, sigs);
        assertTrue(pool.isActive(member), "the member keeps its seat");
    }
}

/// @notice Once the key is installed: the set's ECDSA list is still refused for everything but a
///         key (a recovery), and the key's one FROST signature does what the list cannot.
contract FrostOnlyWithKeyTest is ProductionFixture {
    /// @notice The whole set's ECDSA list over a batch digest is refused by its shape (four
    ///         65-byte signatures); the group key's signature appends the same batch.
    function test_ecdsaListCannotAppendBatchUnderAKey() public {
        uint256 before = sc.nextIndex();
        BatchHeader memory h = _header(before, 1, "ecdsa");
        bytes32 digest = sc.batchDigest(h);
        address cur = sset.currentSequencer();
        bytes[] memory ecdsa = _sign(digest, _allActive());
        vm.prank(cur);
        vm.expectRevert(abi.encodeWithSelector(SequencerSet.SequencerSetBadFrostSignature.selector, 4, 65));
        sc.appendBatch(h, ecdsa);
        // One 96-byte signature that is not the key's: refused by value.
        FrostSigner.Key memory other = FrostSigner.key(99);
        bytes[] memory forged = FrostSigner.signatures(other, digest);
        vm.prank(cur);
        vm.expectRevert(
            abi.encodeWithSelector(SequencerSet.SequencerSetInvalidFrostSignature.selector, digest, groupKey.x)
        );
        sc.appendBatch(h, forged);
        assertEq(sc.nextIndex(), before, "nothing appended by the list or a foreign key");
        _appendBy(h);
        assertEq(sc.nextIndex(), before + 1, "the group key's signature appends");
    }

    /// @notice Reselection: the list is refused; the group key's signature rotates.
    function test_ecdsaListCannotReselectUnderAKey() public {
        address cur = sset.currentSequencer();
        bytes32 digest = sset.reselectDigest();
        bytes[] memory ecdsa = _sign(digest, _allActive());
        vm.expectRevert(abi.encodeWithSelector(SequencerSet.SequencerSetBadFrostSignature.selector, 4, 65));
        sset.reselectWithSignatures(ecdsa);
        assertEq(sset.currentSequencer(), cur, "the list did not rotate");
        sset.reselectWithSignatures(_frostSign(digest));
        assertTrue(sset.currentSequencer() != cur, "the key's signature rotated");
    }

    /// @notice A key is still installed (recovered) by >2/3 of the stake's ECDSA approval: that
    ///         is the list's only use, and the new key signs from then on, the old one no more.
    function test_ecdsaListRecoversTheKey() public {
        FrostSigner.Key memory old = groupKey;
        _installKey(2);
        assertEq(sset.groupKeyX(), groupKey.x, "the new key is installed");
        assertEq(sset.groupKeyVersion(), 2, "second key");
        BatchHeader memory h = _header(sc.nextIndex(), 1, "recovered");
        bytes32 digest = sc.batchDigest(h);
        bytes[] memory stale = FrostSigner.signatures(old, digest);
        address cur = sset.currentSequencer();
        vm.prank(cur);
        vm.expectRevert(
            abi.encodeWithSelector(SequencerSet.SequencerSetInvalidFrostSignature.selector, digest, groupKey.x)
        );
        sc.appendBatch(h, stale);
        _appendBy(h);
    }
}
