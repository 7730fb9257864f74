"""The batch submitter: plans batches from the node's blocks, collects co-signatures, appends
them to L1 (one per index), answers data requests; plus the devnet-only faulty modes."""
