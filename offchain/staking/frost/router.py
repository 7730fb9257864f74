"""HTTP routes of the FROST peer protocol (mounted by the sequencer daemon).

=====================  ==============================================================
``POST /frost/round1``  ``{session, allocation, threshold, reshare_from?, quorum?, old?}``
                        -> ``{address, packages, member}`` (signed; a retry returns the same)
``POST /frost/round2``  ``{session, round1: {address: answer}}`` -> ``{shares: {id: {dealer: ct}}}``
``POST /frost/finish``  ``{session, round1, shares: {id: {dealer: ct}}}`` -> the key set summary
``POST /frost/approve`` ``{session, x}`` -> ECDSA ``{signer, signature}`` over groupKeyDigest(x)
``POST /frost/commit``  ``{session}`` -> ``{session, signer, commitments}``
``POST /frost/sign``    ``{session, commitments, cosign}`` or ``{session, commitments, reselect:
                        {epoch, round, current}}`` -> ``{signer, shares: {id: z_i}, next}``
                        (``next``: fresh commitments for the following round, as /frost/commit)
``GET /frost/status``   key sets held, nonce counts
=====================  ==============================================================

``/frost/sign`` runs every co-signing check first (chain, contract, digest, the absence
bitmap ``cosign.absent``: exactly the active members with no commitment in the package, the
node's batch validator: it rebuilds the batch from its own blocks, one header per index), then
signs the batch digest. With ``reselect`` it signs ``SequencerSet.reselectDigest()`` only if,
on its own view of L1, ``current`` is current at (epoch, round) and has missed its heartbeat
deadline (409 ``stale_request`` / ``not_silent`` otherwise; 409 ``refused`` on a node that does not
follow the rotation). Every check runs before any nonce is touched. Errors are
``{"error": {"code", "message"[, "culprit"]}}``: 400 ``bad_request`` (malformed: bad
encodings, a package not signed by its dealer, parameters out of range), 403 / 409 co-signing
refusals (see :mod:`offchain.staking.cosigner`), 409 ``invalid_share`` (a dealer's package or
share failed; ``culprit`` is its dealer id), 409 ``refused`` (unknown session, used or
foreign nonces, wrong key) and 503 ``unavailable`` (a check could not reach L1 or a peer:
nothing was signed, no nonce touched; ask again).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from offchain.errors import RpcError
from offchain.staking.cosigner import CosignBody, Cosigner, Refusal
from offchain.staking.frost.errors import FrostError, FrostRefused, InvalidShare
from offchain.staking.frost.participant import FrostParticipant


class Round1Body(BaseModel):
    session: str = Field(min_length=1, max_length=128)
    allocation: dict[str, list[int]]
    threshold: int = Field(ge=1)
    reshare_from: str | None = None
    quorum: list[int] | None = None
    old: dict[str, Any] | None = None


class Round2Body(BaseModel):
    session: str
    round1: dict[str, Any]


class FinishBody(BaseModel):
    session: str
    round1: dict[str, Any]
    shares: dict[str, dict[str, str]]


class ApproveBody(BaseModel):
    session: str
    x: str


class CommitBody(BaseModel):
    session: str


class ReselectRequest(BaseModel):
    """What a FROST reselection round signs: replace ``current`` at (epoch, round)."""

    epoch: int = Field(ge=0)
    round: int = Field(ge=0)
    current: str


class SignBody(BaseModel):
    session: str
    commitments: list[Any]
    cosign: CosignBody | None = None
    reselect: ReselectRequest | None = None


#: ``(epoch, round, current) -> reselectDigest()`` after the node's own checks (raises Refusal).
ReselectCheck = Callable[[int, int, str], bytes]


def _error(code: str, message: str, status: int, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status)


def _guard(fn: Any) -> JSONResponse:
    try:
        return JSONResponse(fn())
    except InvalidShare as e:
        return _error("invalid_share", e.message, 409, culprit=e.culprit)
    except Refusal as e:
        return _error(e.code, e.message, e.status)
    except FrostRefused as e:
        return _error("refused", e.message, 409)
    except FrostError as e:
        return _error("bad_request", e.message, 400)
    except (KeyError, TypeError, ValueError) as e:
        return _error("bad_request", f"malformed message: {e}", 400)
    except (requests.RequestException, OSError, RpcError) as e:
        # A check that needs L1 (or a peer) could not run: nothing was signed, ask again.
        return _error("unavailable", f"cannot check now: {type(e).__name__}: {e}"[:300], 503)


def create_frost_router(
    participant: FrostParticipant, cosigner: Cosigner, reselect: ReselectCheck | None = None
) -> APIRouter:
    """The ``/frost/*`` routes of one sequencer (``reselect``: how it checks a reselection;
    None: it signs batches only)."""
    router = APIRouter()
    p = participant

    @router.post("/frost/round1")
    def round1(body: Round1Body) -> JSONResponse:
        return _guard(
            lambda: p.round1(
                body.session,
                body.allocation,
                body.threshold,
                body.reshare_from,
                body.quorum,
                body.old,
            )
        )

    @router.post("/frost/round2")
    def round2(body: Round2Body) -> JSONResponse:
        return _guard(lambda: {"shares": p.round2(body.session, body.round1)})

    @router.post("/frost/finish")
    def finish(body: FinishBody) -> JSONResponse:
        return _guard(lambda: p.finish(body.session, body.round1, body.shares))

    @router.post("/frost/approve")
    def approve(body: ApproveBody) -> JSONResponse:
        return _guard(lambda: p.approve(body.session, int(body.x, 16)))

    @router.post("/frost/commit")
    def commit(body: CommitBody) -> JSONResponse:
        return _guard(lambda: p.commit(body.session))

    @router.post("/frost/sign")
    def sign(body: SignBody) -> JSONResponse:
        def run() -> dict[str, Any]:
            if (body.cosign is None) == (body.reselect is None):
                raise FrostError("a signing request carries exactly one of cosign, reselect")
            if body.cosign is not None:
                # The absence bitmap must be this package's (checked before any nonce).
                present = p.present_members(body.session, body.commitments)
                digest = cosigner.check(body.cosign, present)
            elif reselect is None:
                raise FrostRefused("this node does not sign reselections")
            else:
                r = body.reselect
                assert r is not None
                digest = reselect(r.epoch, r.round, r.current)
            shares = p.sign(body.session, body.commitments, digest)
            # FROST preprocessing: fresh commitments for the next round ride on this answer.
            return {"signer": p.address, "shares": shares, "next": p.commit(body.session)}

        return _guard(run)

    @router.get("/frost/status")
    def status() -> dict[str, Any]:
        ks = p.current_keyset()
        return {
            "signer": p.address,
            "session": ks.session if ks else None,
            "group_key": ks.group_key if ks else None,
            "identifiers": sorted(ks.secrets) if ks else [],
            "threshold": ks.threshold if ks else None,
            "nonces": p.store.nonce_counts(),
            "public": None
            if ks is None
            else {
                "group_key": ks.group_key,
                "threshold": ks.threshold,
                "publics": {str(i): v for i, v in ks.publics.items()},
                "allocation": ks.allocation,
            },
        }

    return router
