"""The rollup: L2 ledger, sequencer node, batcher, verifier and their L1 bindings."""
