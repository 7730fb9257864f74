"""The L2 ledger: state tree, transactions and their encodings, execution, batch roots and
fraud-proof witnesses; the Python twin of ``contracts/rollup/L2StateTransition.sol``,
``StateTree.sol`` and ``BatchHeader.sol``. Pure code: no I/O, no L1, no threads."""
