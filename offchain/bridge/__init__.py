"""L1 bridge client: deposits into the L2 queue and withdrawals back to L1."""
