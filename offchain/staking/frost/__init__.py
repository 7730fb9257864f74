"""FROST(secp256k1, SHA-256) threshold Schnorr signatures (RFC 9591) for the sequencer set.

Modules:

- :mod:`group`: scalars mod the group order and points (SEC1 compressed encoding);
- :mod:`hashing`: the ciphersuite's H1-H5 (and the DKG's proof-of-knowledge hash);
- :mod:`keygen`: polynomials, Lagrange coefficients, VSS commitments, trusted-dealer keygen;
- :mod:`signing`: nonces, commitments, binding factors, signature shares, share verification,
  aggregation and verification;
- :mod:`dkg`: Pedersen DKG with proofs of knowledge, and resharing that keeps the group key;
- :mod:`weights`: stake-weighted share allocation and the > 2/3 threshold.
"""
