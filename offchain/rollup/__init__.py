"""The rollup: L2 ledger (state, transactions, execution), sequencer node, batcher,
verifier and their L1 bindings."""
