"""Co-signing batches (the seeds' MPC step, as k-of-n signatures): ``POST /cosign``.

A node signs the digest of a batch header only after rebuilding that batch from its own
stored blocks and getting the very same header: a sequencer cannot get honest peers'
signatures for roots its blocks do not produce. The request/answer shape is the one of
:func:`offchain.staking.signatures.collect_signatures` (``CosignRequest.to_json()`` in,
``{"signature": "0x..."}`` out; HTTP 409 with ``{"detail": {"message": ...}}`` on refusal).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from offchain.rollup.batch import BatchHeader, batch_digest, sign_digest
from offchain.rollup.node import SequencerNode
from offchain.rollup.node_errors import BatchError

log = structlog.get_logger("rollup.cosign")


def cosign_router(
    node: SequencerNode,
    signer_key: bytes,
    chain_id: int,
    state_commitment: str,
    deposit_hash: Callable[[int], bytes],
) -> APIRouter:
    """The ``/cosign`` endpoint of ``node``.

    Args:
        node: whose blocks batches are checked against.
        signer_key: the node's signer key.
        chain_id: L1 chain id (part of the digest).
        state_commitment: the StateCommitment address (part of the digest).
        deposit_hash: the bridge's rolling hash after ``n`` deposits.
    """
    from offchain.rollup.batcher import build_batch

    router = APIRouter()

    def refuse(msg: str) -> JSONResponse:
        log.warning("cosign_refused", reason=msg)
        return JSONResponse({"detail": {"message": msg}}, status_code=409)

    @router.post("/cosign")
    async def cosign(request: Request) -> Any:
        try:
            body = await request.json()
            header = BatchHeader.from_json(body["header"])
            digest = bytes.fromhex(str(body["digest"]).removeprefix("0x"))
        except Exception as e:  # noqa: BLE001 - any malformed body is a 400
            return JSONResponse(
                {"detail": {"message": f"malformed cosign request: {e}"}}, status_code=400
            )
        expected = batch_digest(chain_id, state_commitment, header)
        if digest != expected:
            return refuse("digest is not this chain's StateCommitment digest of the header")
        last = header.first_block + header.l2_blocks - 1
        if node.head < last:
            node.wait_for_block(last, timeout_s=2.0)
        try:
            mine = build_batch(node, header.index, header.first_block, last, deposit_hash).header
        except BatchError as e:
            return refuse(f"cannot rebuild batch {header.index}: {e.message}")
        if mine.hash() != header.hash():
            diff = [k for k, v in mine.to_json().items() if header.to_json()[k] != v]
            return refuse(f"batch {header.index} differs from this node's blocks in {diff}")
        return {"signature": "0x" + sign_digest(signer_key, digest).hex(), "signer": node.address}

    return router
