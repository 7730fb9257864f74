// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice One rollup batch as committed to L1 (docs/spec.md, "Rollup batches").
/// @dev    StateCommitment stores only keccak256(abi.encode(header)); the full header is emitted in
///         {StateCommitment-BatchAppended} and passed back as calldata by whoever needs its fields.
///         Twin of offchain/rollup/ledger/batch.py:BatchHeader (same field order, same ABI encoding).
struct BatchHeader {
    /// Position of the batch in the chain of batches (0, 1, 2, ...).
    uint64 index;
    /// Number of the first L2 block in the batch.
    uint64 firstBlock;
    /// Number of L2 blocks in the batch.
    uint64 l2Blocks;
    /// Number of transactions: leaves of `txRoot`, `stateRootsRoot` and `withdrawalRoot`.
    uint64 txCount;
    /// Bridge deposits the L2 has consumed after this batch (the deposit-queue position).
    uint64 depositCount;
    /// The bridge's rolling deposit hash after `depositCount` deposits.
    bytes32 depositHash;
    /// MTTBR: Merkle root over the batch's transactions, leaf i = keccak256(encoded tx i).
    bytes32 txRoot;
    /// MTSR: Merkle root over the post-state roots, leaf i = state root after tx i.
    bytes32 stateRootsRoot;
    /// State root after the last transaction (= leaf txCount-1 of `stateRootsRoot`).
    bytes32 finalStateRoot;
    /// Merkle root over the per-transaction withdrawal items (bytes32(0) for a non-withdrawal).
    bytes32 withdrawalRoot;
    /// Commitment to the batch data (docs/spec.md, "Data availability modes"): in `Blobs` mode
    /// keccak256 of the blobs' versioned hashes, concatenated; otherwise keccak256 of the
    /// compressed frame (its key in the blob store, or the calldata of appendBatchWithData).
    bytes32 dataHash;
    /// Storage mode: keccak256 of the versioned hashes, concatenated, of the EIP-4844 blobs that
    /// carry the frame (not posted at append; a data-availability answer posts exactly these
    /// blobs, DataAvailabilityChallenge.provideBlobs). bytes32(0) in the other modes (and in a
    /// Storage batch that commits no blobs: it is answered in chunks).
    bytes32 blobsHash;
}

/// @notice Where a batch is in its life; it only moves forward (Pending -> Finalized, Pending -> Invalid).
enum BatchStatus {
    None,
    Pending,
    Finalized,
    Invalid
}

/// @notice Where a batch's data is published (docs/spec.md, "Data availability modes").
/// @dev    Storage: the blob store only, on L1 on request (the seed's Memolabs role).
///         Blobs: EIP-4844 blobs of the appendBatch transaction. Calldata: the frame in the
///         calldata of appendBatchWithData.
enum DataMode {
    Storage,
    Blobs,
    Calldata
}
