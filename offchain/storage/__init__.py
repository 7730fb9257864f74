"""Content-addressed blob storage: rollup batch data, EMETH datasets and results.

A blob's key is ``0x`` + keccak256 of its bytes. :class:`~offchain.storage.store.BlobStore`
keeps blobs on disk, :class:`~offchain.storage.server.StorageServer` serves them over HTTP and
:class:`~offchain.storage.client.BlobClient` talks to that server.
"""
