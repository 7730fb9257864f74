// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {FrostSigner} from "../utils/FrostSigner.sol";
import {L2KitToken} from "../../../contracts/staking/L2KitToken.sol";
import {LockingPool} from "../../../contracts/staking/LockingPool.sol";
import {SequencerSet} from "../../../contracts/staking/SequencerSet.sol";
import {ISequencerSet} from "../../../contracts/staking/ISequencerSet.sol";
import {StateCommitment} from "../../../contracts/rollup/StateCommitment.sol";
import {IStateCommitment} from "../../../contracts/rollup/IStateCommitment.sol";
import {DataAvailabilityChallenge} from "../../../contracts/rollup/DataAvailabilityChallenge.sol";
import {FraudProver} from "../../../contracts/rollup/FraudProver.sol";
import {L2StateTransition} from "../../../contracts/rollup/L2StateTransition.sol";
import {BatchHeader} from "../../../contracts/rollup/BatchHeader.sol";
import {MerkleTree} from "../../../contracts/common/MerkleTree.sol";
import {L1Bridge} from "../../../contracts/bridge/L1Bridge.sol";
import {IDepositQueue} from "../../../contracts/bridge/IDepositQueue.sol";
import {L2KitTimelock} from "../../../contracts/governance/L2KitTimelock.sol";
import {L2KitGovernor} from "../../../contracts/governance/L2KitGovernor.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @notice forge's console.log (a precompile-like address without code: called with a raw
///         staticcall, as forge-std does; only the overloads the attack tests print with).
library console {
    address internal constant CONSOLE = 0x000000000000000000636F6e736F6c652e6c6f67;

    function log(string memory s) internal view {
        _send(abi.encodeWithSignature("log(string)", s));
    }

    function log(string memory s, uint256 a, uint256 b) internal view {
        _send(abi.encodeWithSignature("log(string,uint256,uint256)", s, a, b));
    }

    function log(string memory s, uint256 a, uint256 b, uint256 c) internal view {
        _send(abi.encodeWithSignature("log(string,uint256,uint256,uint256)", s, a, b, c));
    }

    function _send(bytes memory payload) private view {
        (bool ok,) = CONSOLE.staticcall(payload);
        ok; // the console never reverts; nothing to do either way
    }
}

/// @notice The l2kit L1 contracts deployed and wired as `offchain/deploy.py` does on a real
///         network (production parameters of offchain/*/config.py): token, LockingPool,
///         SequencerSet, StateCommitment, DataAvailabilityChallenge, FraudProver, L1Bridge, and a
///         Governor + Timelock that own every admin function. Four honest sequencers (keys 1..4)
///         hold stake and install the set's FROST group key with their >2/3 ECDSA approval (the
///         production path after the DKG; {_installsGroupKey}); batches are signed by that key.
///         Attack tests add the attacker as its own actor.
abstract contract ProductionFixture is Test {
    // Production parameters (offchain/staking/config.py, offchain/rollup/l1/config.py,
    // offchain/governance/config.py).
    uint256 internal constant MIN_LOCK = 20_000 ether;
    uint256 internal constant MAX_LOCK = 100_000 ether;
    uint256 internal constant WITHDRAWAL_DELAY = 21 days;
    uint256 internal constant SIGNER_INTERVAL = 1 minutes;
    uint256 internal constant REWARD_PER_BLOCK = 1 ether;
    uint64 internal constant EPOCH = 1 hours;
    uint64 internal constant HEARTBEAT = 10 minutes;
    uint256 internal constant CHALLENGE_WINDOW = 7 days;
    uint256 internal constant FORCE_WINDOW = 24 hours;
    uint256 internal constant FREEZE_AFTER = 7 days;
    uint256 internal constant DATA_WINDOW = 1 days;
    uint256 internal constant DA_FEE = 0.01 ether;
    uint256 internal constant DA_SLASH = 10_000 ether;
    uint256 internal constant FRAUD_SLASH = 10_000 ether;
    uint256 internal constant L2_CHAIN_ID = 901;
    /// @dev Consecutive missed co-signing rounds that remove a member (staking.miss_limit_batches).
    uint256 internal constant MISS_LIMIT = 50;
    /// @dev Least delay of every governance call off the fast lane (offchain/governance/config.py).
    uint256 internal constant EXIT_WINDOW = 30 days;

    L2KitToken internal token;
    LockingPool internal pool;
    SequencerSet internal sset;
    StateCommitment internal sc;
    DataAvailabilityChallenge internal da;
    FraudProver internal fp;
    L1Bridge internal bridge;
    L2KitTimelock internal timelock;
    L2KitGovernor internal governor;

    uint256[] internal honestKeys;
    /// @notice Private key of each signer address the fixture knows (for batch signatures).
    mapping(address signer => uint256 key) internal keyOf;
    address internal constant VOTER = address(0x70E);
    /// @notice The emergency guardian (a security council in production): pauses at once.
    address internal constant GUARDIAN = address(0x6A4D);
    /// @notice The set's FROST group key (held whole here; see FrostSigner).
    FrostSigner.Key internal groupKey;

    function setUp() public virtual {
        vm.warp(1_800_000_000);
        vm.roll(1_000);
        token = new L2KitToken("L2Kit", "L2K", address(this));
        LockingPool.Params memory p = LockingPool.Params({
            minLock: MIN_LOCK,
            maxLock: MAX_LOCK,
            maxSequencers: 21,
            withdrawalDelay: WITHDRAWAL_DELAY,
            signerUpdateInterval: SIGNER_INTERVAL,
            rewardPerBlock: REWARD_PER_BLOCK,
            slashBeneficiaryBps: 5_000
        });
        pool = new LockingPool(token, p, address(this));
        sset = new SequencerSet(pool, EPOCH, HEARTBEAT, address(this));
        pool.setSequencerSet(address(sset));
        sc = new StateCommitment(address(this), ISequencerSet(address(sset)), _genesis(), CHALLENGE_WINDOW, FREEZE_AFTER);
        da = new DataAvailabilityChallenge(
            address(this), IStateCommitment(address(sc)), ISequencerSet(address(sset)), DATA_WINDOW, DA_FEE, DA_SLASH
        );
        fp = new FraudProver(
            address(this), IStateCommitment(address(sc)), ISequencerSet(address(sset)), L2_CHAIN_ID, FRAUD_SLASH
        );
        sset.setRollup(address(sc), true);
        sc.setChallenger(address(da), true);
        sset.setRollup(address(da), true);
        sc.setChallenger(address(fp), true);
        sset.setRollup(address(fp), true);
        bridge = new L1Bridge(IStateCommitment(address(sc)), FORCE_WINDOW);
        sc.setBridge(IDepositQueue(address(bridge)));
        sset.setDepositQueue(IDepositQueue(address(bridge)));
        sset.setMissLimit(MISS_LIMIT);

        token.mint(address(this), 50_000_000 ether);
        for (uint256 k = 1; k <= 4; k++) {
            honestKeys.push(k);
            _stake(vm.addr(k), k, MAX_LOCK);
        }
        token.approve(address(pool), type(uint256).max);
        pool.fundRewards(1_000_000 ether);
        sset.advanceEpoch();
        if (_installsGroupKey()) _installKey(1);

        // Governance last: the Timelock owns everything (offchain/governance/deploy.py).
        address[] memory none = new address[](0);
        address[] memory anyone = new address[](1);
        address[] memory fastTargets = new address[](1);
        fastTargets[0] = address(pool);
        bytes4[] memory fastSelectors = new bytes4[](1);
        fastSelectors[0] = LockingPool.kick.selector;
        timelock = new L2KitTimelock(
            _timelockDelay(), EXIT_WINDOW, fastTargets, fastSelectors, none, anyone, address(this)
        );
        governor = new L2KitGovernor(token, TimelockController(payable(address(timelock))), 1, 50, 0, 4);
        timelock.grantRole(timelock.PROPOSER_ROLE(), address(governor));
        timelock.grantRole(timelock.CANCELLER_ROLE(), address(governor));
        token.mint(VOTER, 10_000_000 ether);
        vm.prank(VOTER);
        token.delegate(VOTER);
        pool.setGuardian(GUARDIAN);
        pool.transferOwnership(address(timelock));
        sset.transferOwnership(address(timelock));
        sc.transferOwnership(address(timelock));
        da.transferOwnership(address(timelock));
        fp.transferOwnership(address(timelock));
        token.transferOwnership(address(timelock));
        timelock.renounceRole(timelock.DEFAULT_ADMIN_ROLE(), address(this));
        vm.roll(block.number + 1);
    }

    /// @dev The production timelock delay (offchain/governance/config.py).
    function _timelockDelay() internal pure virtual returns (uint256) {
        return 2 days;
    }

    /// @dev Whether setUp installs the group key (tests of the set before its first key: false).
    function _installsGroupKey() internal pure virtual returns (bool) {
        return true;
    }

    /// @notice Install the group key of `seed` with the ECDSA approval of every known active
    ///         signer (installGroupKey: the only use of an ECDSA list).
    function _installKey(uint256 seed) internal {
        groupKey = FrostSigner.key(seed);
        sset.installGroupKey(groupKey.x, groupKey.y, _sign(sset.groupKeyDigest(groupKey.x), _allActive()));
    }

    /// @notice The set's one FROST signature over `digest` (batches, reselection, removals).
    function _frostSign(bytes32 digest) internal returns (bytes[] memory) {
        return FrostSigner.signatures(groupKey, digest);
    }

    function _genesis() internal pure returns (bytes32) {
        return keccak256("genesis");
    }

    // ------------------------------------------------------------------ actors

    /// @notice Mint `amount` to the signer of `key` and lock it as its own sequencer.
    function _stake(address signer, uint256 key, uint256 amount) internal {
        keyOf[signer] = key;
        token.transfer(signer, amount);
        vm.startPrank(signer);
        token.approve(address(pool), type(uint256).max);
        pool.lock(signer, amount);
        vm.stopPrank();
    }

    /// @notice The batch data of a one-transaction batch (docs/spec.md, "Batch commitments").
    struct BatchData {
        bytes[] txs;
        address[] feeRecipients;
        bytes32[] postStateRoots;
        bytes32[] withdrawalItems;
    }

    address internal constant FEE_RECIPIENT = address(0xFEE);

    /// @notice The final state the one transaction of the batch with `salt` leaves.
    function _finalState(bytes32 salt) internal pure returns (L2StateTransition.State memory) {
        return L2StateTransition.State(salt, 1, 0);
    }

    /// @notice The data of the one-transaction batch with `salt`.
    function _data(bytes32 salt) internal pure returns (BatchData memory d) {
        L2StateTransition.State memory s = _finalState(salt);
        d.txs = new bytes[](1);
        d.txs[0] = abi.encode("tx", salt);
        d.feeRecipients = new address[](1);
        d.feeRecipients[0] = FEE_RECIPIENT;
        d.postStateRoots = new bytes32[](1);
        d.postStateRoots[0] = keccak256(abi.encode(s.treeRoot, s.size, s.nextDepositId));
        d.withdrawalItems = new bytes32[](1);
    }

    /// @notice A header at `index` committing to `_data(salt)` (so a data request can be answered).
    function _header(uint256 index, uint64 l2Blocks, bytes32 salt) internal pure returns (BatchHeader memory h) {
        BatchData memory d = _data(salt);
        bytes32 root = d.postStateRoots[0];
        h = BatchHeader({
            index: uint64(index),
            firstBlock: uint64(index * 10),
            l2Blocks: l2Blocks,
            txCount: 1,
            depositCount: 0,
            depositHash: bytes32(0),
            txRoot: MerkleTree.leafHash(0, keccak256(abi.encode(keccak256(d.txs[0]), FEE_RECIPIENT))),
            stateRootsRoot: MerkleTree.leafHash(0, root),
            finalStateRoot: root,
            withdrawalRoot: MerkleTree.leafHash(0, bytes32(0)),
            dataHash: keccak256(abi.encode(d.txs, d.feeRecipients, d.postStateRoots, d.withdrawalItems)),
            blobsHash: bytes32(0)
        });
    }

    /// @notice `_header` with a final state root that is not its MTSR's last leaf (provable fraud).
    function _badHeader(uint256 index, bytes32 salt) internal pure returns (BatchHeader memory h) {
        h = _header(index, 1, salt);
        h.finalStateRoot = keccak256(abi.encode("lie", salt));
    }

    /// @notice The sequencer of batch `h` answers its data request with the matching data.
    function _answer(BatchHeader memory h, bytes32 salt, address from) internal {
        BatchData memory d = _data(salt);
        vm.prank(from);
        da.provideData(h, d.txs, d.feeRecipients, d.postStateRoots, d.withdrawalItems);
    }

    /// @notice ECDSA signatures over `digest` from the given signers (sorted ascending here): the
    ///         set's approval of a group key ({SequencerSet.installGroupKey}).
    function _sign(bytes32 digest, address[] memory signers) internal view returns (bytes[] memory sigs) {
        // Insertion sort: the set is small.
        for (uint256 i = 1; i < signers.length; i++) {
            address x = signers[i];
            uint256 j = i;
            while (j > 0 && signers[j - 1] > x) {
                signers[j] = signers[j - 1];
                j--;
            }
            signers[j] = x;
        }
        sigs = new bytes[](signers.length);
        for (uint256 i = 0; i < signers.length; i++) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(keyOf[signers[i]], digest);
            sigs[i] = abi.encodePacked(r, s, v);
        }
    }

    /// @notice Every active signer the fixture holds a key for.
    function _allActive() internal view returns (address[] memory out) {
        address[] memory a = pool.activeSigners();
        uint256 n = 0;
        for (uint256 i = 0; i < a.length; i++) {
            if (keyOf[a[i]] != 0) n++;
        }
        out = new address[](n);
        n = 0;
        for (uint256 i = 0; i < a.length; i++) {
            if (keyOf[a[i]] != 0) out[n++] = a[i];
        }
    }

    /// @notice The current sequencer appends `h` with absence bitmap `absent`, signed by the
    ///         set's group key over {StateCommitment.batchDigestAbsent}.
    function _appendAbsent(BatchHeader memory h, uint256 absent) internal {
        bytes[] memory sigs = _frostSign(sc.batchDigestAbsent(h, absent));
        vm.prank(sset.currentSequencer());
        sc.appendBatchAbsent(h, absent, sigs);
    }

    /// @notice The current sequencer appends `h`, signed by the set's group key.
    function _appendBy(BatchHeader memory h) internal {
        bytes[] memory sigs = _frostSign(sc.batchDigest(h));
        vm.prank(sset.currentSequencer());
        sc.appendBatch(h, sigs);
    }

    /// @notice The current sequencer appends the next batch, signed by the set's group key.
    function _append(uint64 l2Blocks, bytes32 salt) internal returns (BatchHeader memory h) {
        h = _header(sc.nextIndex(), l2Blocks, salt);
        _appendBy(h);
    }

    /// @notice Rotate (epoch by epoch) until `who` is the current sequencer (at most 200 tries).
    function _makeCurrent(address who) internal {
        for (uint256 i = 0; i < 200 && sset.currentSequencer() != who; i++) {
            vm.warp(block.timestamp + EPOCH);
            vm.roll(block.number + 2);
            sset.advanceEpoch();
        }
        assertEq(sset.currentSequencer(), who, "could not make the actor current");
    }

    /// @notice Execute `data` on `target` through the Governor and the Timelock (a full proposal,
    ///         executed at its ETA: the minimum delay on the fast lane, the exit window else).
    function _govern(address target, bytes memory data, string memory description) internal {
        address[] memory targets = new address[](1);
        targets[0] = target;
        uint256[] memory values = new uint256[](1);
        bytes[] memory calldatas = new bytes[](1);
        calldatas[0] = data;
        vm.prank(VOTER);
        uint256 id = governor.propose(targets, values, calldatas, description);
        vm.roll(block.number + governor.votingDelay() + 1);
        vm.prank(VOTER);
        governor.castVote(id, 1);
        vm.roll(block.number + governor.votingPeriod() + 1);
        governor.queue(targets, values, calldatas, keccak256(bytes(description)));
        vm.warp(governor.proposalEta(id));
        governor.execute(targets, values, calldatas, keccak256(bytes(description)));
    }
}
