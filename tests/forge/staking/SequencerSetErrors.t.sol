// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {L2KitToken} from "../../../contracts/staking/L2KitToken.sol";
import {LockingPool} from "../../../contracts/staking/LockingPool.sol";
import {SequencerSet} from "../../../contracts/staking/SequencerSet.sol";
import {IDepositQueue} from "../../../contracts/bridge/IDepositQueue.sol";

/// @notice A deposit queue with a fixed count (the set only reads `depositCount`).
contract FixedQueue {
    function depositCount() external pure returns (uint256) {
        return 3;
    }
}

/// @notice SequencerSet refusals that no other test reaches, each with its custom error and values.
contract SequencerSetErrorsTest is Test {
    L2KitToken internal token;
    LockingPool internal pool;
    SequencerSet internal sset;

    function setUp() public {
        token = new L2KitToken("T", "T", address(this));
        LockingPool.Params memory p = LockingPool.Params(1 ether, 100 ether, 30, 100, 10, 0, 5_000);
        pool = new LockingPool(token, p, address(this));
        sset = new SequencerSet(pool, 50, 5, address(this));
        pool.setSequencerSet(address(sset));
    }

    /// @notice The deposit queue is set once: a second call names the queue already set.
    function test_depositQueueIsSetOnce() public {
        address first = address(new FixedQueue());
        sset.setDepositQueue(IDepositQueue(first));
        assertEq(address(sset.depositQueue()), first, "queue set");
        address second = address(new FixedQueue());
        vm.expectRevert(abi.encodeWithSelector(SequencerSet.SequencerSetDepositQueueAlreadySet.selector, first));
        sset.setDepositQueue(IDepositQueue(second));
    }

    /// @notice removeSilent of a signer that is not active (never locked, or exiting) is refused
    ///         before any signature is read.
    function test_removeSilentOfAnInactiveSignerReverts() public {
        address stranger = vm.addr(77);
        vm.expectRevert(abi.encodeWithSelector(SequencerSet.SequencerSetNotActive.selector, stranger));
        sset.removeSilent(stranger, new bytes[](0));

        address a = vm.addr(1);
        for (uint256 i = 1; i <= 4; i++) {
            token.mint(address(this), 10 ether);
            token.approve(address(pool), 10 ether);
            pool.lockFor(vm.addr(i), vm.addr(i), 10 ether);
        }
        vm.prank(a);
        pool.unlockInit(a);
        vm.expectRevert(abi.encodeWithSelector(SequencerSet.SequencerSetNotActive.selector, a));
        sset.removeSilent(a, new bytes[](0));
    }
}
