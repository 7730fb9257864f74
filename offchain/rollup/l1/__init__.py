"""Bindings to the rollup's L1 contracts (StateCommitment, DataAvailabilityChallenge,
FraudProver), their parameters and their deploy step; mirrors ``contracts/rollup/``."""
