"""Formats shared by every domain: hashing, Merkle trees, encodings (see docs/spec.md)."""
