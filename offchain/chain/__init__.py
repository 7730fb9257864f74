"""Everything that talks to the L1: compile, artifacts, Anvil, transactions, logs."""
