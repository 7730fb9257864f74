"""Rollup: L2 ledger (state, transactions, execution), and the rollup node."""
