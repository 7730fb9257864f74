"""The sequencer node: JSON-RPC, mempool, block producer, block store, peers, the L1 deposit
follower, its config and errors, the wiring of one node process, and the L2 client."""
