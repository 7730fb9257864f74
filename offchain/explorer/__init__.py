"""A read-only web explorer of the whole system: the sequencer set, batches on L1, the L2, the
bridge and EMETH, from public interfaces only (L1 RPC and events, the node's ``l2_*``
JSON-RPC, the EMETH execution layer's HTTP API), with a small SQLite index."""
