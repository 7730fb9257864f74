// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {FrostVerifier} from "../staking/FrostVerifier.sol";
import {ISequencerSet} from "../staking/ISequencerSet.sol";

/// @title TestSequencerSet
/// @notice Test double of the sequencer set for the rollup contracts' tests: a fixed signer list
///         with ETH stakes, the real set's signature rule (one FROST signature under the group key
///         the owner installs; none before), heartbeats,
///         and punishment that pays half the slash to the beneficiary and burns the rest.
/// @dev    Not deployed by the devnet; the real one is staking/SequencerSet.
contract TestSequencerSet is ISequencerSet {
    address public owner;
    address[] private _signers;
    address public currentSequencer;
    mapping(address => uint256) public stake;
    mapping(address => uint256) public batches;
    mapping(address => bool) public authorised;
    uint256 public burned;
    uint256 public paidOut;
    /// @notice When set, punish reverts (a stake that is already gone, in the real pool).
    bool public punishReverts;
    /// @notice FROST group key x (even y); zero: no key, no batch verifies.
    uint256 public groupKeyX;

    event Punished(address indexed signer, uint256 slashed, uint256 paid, address indexed beneficiary);

    error TestSequencerSetNotOwner(address caller);
    error TestSequencerSetNotAuthorised(address caller);
    error TestSequencerSetNoGroupKey();
    error TestSequencerSetNotActive(address signer);
    error TestSequencerSetNoStake(address signer);
    error TestSequencerSetBadFrostSignature(bytes32 digest);

    constructor() {
        owner = msg.sender;
    }

    /// @notice Sets the active signers (first one current) and credits each `stakeEach` wei of stake.
    function setSigners(address[] calldata signers_, uint256 stakeEach) external payable {
        if (msg.sender != owner) revert TestSequencerSetNotOwner(msg.sender);
        _signers = signers_;
        currentSequencer = signers_.length > 0 ? signers_[0] : address(0);
        for (uint256 i = 0; i < signers_.length; i++) {
            stake[signers_[i]] = stakeEach;
        }
    }

    /// @notice Lets `who` call recordBatch and punish.
    function authorise(address who) external {
        if (msg.sender != owner) revert TestSequencerSetNotOwner(msg.sender);
        authorised[who] = true;
    }

    /// @notice Makes punish revert (or not).
    function setPunishReverts(bool on) external {
        if (msg.sender != owner) revert TestSequencerSetNotOwner(msg.sender);
        punishReverts = on;
    }

    /// @notice Installs FROST group key x (the real set checks the set's approval first).
    function setGroupKey(uint256 x) external {
        if (msg.sender != owner) revert TestSequencerSetNotOwner(msg.sender);
        groupKeyX = x;
    }

    /// @notice Makes `signer` current (rotation by hand).
    function setCurrent(address signer) external {
        if (msg.sender != owner) revert TestSequencerSetNotOwner(msg.sender);
        currentSequencer = signer;
    }

    function activeSigners() external view returns (address[] memory) {
        return _signers;
    }

    /// @notice As the real set: exactly one FROST signature under the installed group key;
    ///         nothing verifies before a key is installed (no ECDSA list for batches).
    function verifyBatchSignatures(bytes32 digest, bytes[] calldata signatures) external view {
        if (groupKeyX == 0) revert TestSequencerSetNoGroupKey();
        if (signatures.length != 1 || !FrostVerifier.verifyDigest(groupKeyX, digest, signatures[0])) {
            revert TestSequencerSetBadFrostSignature(digest);
        }
    }

    function recordBatch(address signer, uint256, uint256) external {
        if (!authorised[msg.sender]) revert TestSequencerSetNotAuthorised(msg.sender);
        batches[signer] += 1;
    }

    /// @notice Keys never move in this test set.
    function currentKeyOf(address signer) external pure returns (address) {
        return signer;
    }

    function punish(address signer, uint256 amount, address beneficiary) external returns (uint256 paid) {
        if (!authorised[msg.sender]) revert TestSequencerSetNotAuthorised(msg.sender);
        if (punishReverts) revert TestSequencerSetNoStake(signer);
        uint256 slashed = amount < stake[signer] ? amount : stake[signer];
        stake[signer] -= slashed;
        paid = beneficiary == address(0) ? 0 : slashed / 2; // as LockingPool.slash: no one to pay
        burned += slashed - paid;
        paidOut += paid;
        _kick(signer);
        if (paid > 0) {
            (bool ok,) = beneficiary.call{value: paid}("");
            ok; // a refusing beneficiary forfeits (kept in this contract)
        }
        emit Punished(signer, slashed, paid, beneficiary);
    }

    /// @notice Rotates away from `signer` to the next signer of the list (no slash).
    function rotateOut(address signer) external {
        if (!authorised[msg.sender]) revert TestSequencerSetNotAuthorised(msg.sender);
        uint256 n = _signers.length;
        for (uint256 i = 0; i < n; i++) {
            if (_signers[i] == signer) {
                currentSequencer = _signers[(i + 1) % n];
                break;
            }
        }
    }

    function _kick(address signer) private {
        uint256 n = _signers.length;
        for (uint256 i = 0; i < n; i++) {
            if (_signers[i] == signer) {
                _signers[i] = _signers[n - 1];
                _signers.pop();
                break;
            }
        }
        if (currentSequencer == signer) currentSequencer = _signers.length > 0 ? _signers[0] : address(0);
    }
}
