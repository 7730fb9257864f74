"""Pydantic models at the HTTP boundary of the execution layer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Job states (docs/spec.md "EMETH execution layer").
REGISTERED = "registered"
PROCESSING = "processing"
SUBMITTED = "submitted"
VERIFIED = "verified"
REJECTED = "rejected"
TIMED_OUT = "timed_out"
CANCELLED = "cancelled"
SPLIT = "split"
CONFIRMED = "confirmed"
BILLED = "billed"
# A split job past its deadline with SubJobs unfinished, and those unfinished SubJobs.
EXPIRED = "expired"
# A node reported the job's input (dataset or params) as unusable; the verifier decides.
INPUT_REPORTED = "input_reported"
# The verifier confirmed the input is unusable: the requester is charged the fee (billable).
INPUT_REJECTED = "input_rejected"

STATES = (
    REGISTERED,
    PROCESSING,
    SUBMITTED,
    VERIFIED,
    REJECTED,
    TIMED_OUT,
    CANCELLED,
    SPLIT,
    CONFIRMED,
    BILLED,
    EXPIRED,
    INPUT_REPORTED,
    INPUT_REJECTED,
)

# Leaf states that still hold the requester's money (fees not yet in a Ticket).
COMMITTED_STATES = (REGISTERED, PROCESSING, SUBMITTED, VERIFIED, INPUT_REPORTED, INPUT_REJECTED)
# States a Signer bills (each job on its own, a SubJob whatever its parent's state).
BILLABLE_STATES = (VERIFIED, INPUT_REJECTED)
# SubJobs in these states are re-registered, so their fee stays committed too.
SUB_RETRY_STATES = (REJECTED, TIMED_OUT)


class ActionRequest(BaseModel):
    """``POST /actions``: one EIP-712 signed action."""

    model_config = ConfigDict(extra="forbid")

    action: str = Field(description="EIP-712 primaryType, e.g. Process")
    message: dict[str, Any]
    signature: str = Field(description="65-byte signature, 0x-hex")


class DebitModel(BaseModel):
    """One requester debit of a Ticket and its leaf (cumulative debit, previous Ticket)."""

    model_config = ConfigDict(extra="forbid")

    requester: str
    amount: int = Field(ge=0)
    cumulative: int = Field(ge=0)
    prevTicketId: int = Field(ge=0)


class TicketSubmission(BaseModel):
    """``POST /tickets``: a Ticket signed by an authorised signer on the EmethCore domain."""

    model_config = ConfigDict(extra="forbid")

    ticketId: int = Field(ge=1)
    node: str
    jobsRoot: str
    jobCount: int = Field(ge=0)
    fuel: int = Field(ge=0)
    penalty: int = Field(ge=0)
    debits: list[DebitModel]
    debitsRoot: str | None = Field(None, description="derived from debits; checked if given")
    debitCount: int | None = Field(None, ge=0, description="derived; checked if given")
    totalDebit: int | None = Field(None, ge=0, description="derived; checked if given")
    validUntil: int = Field(ge=0, lt=2**64, description="last L1 timestamp it may settle at")
    jobIds: list[str]
    penaltyIds: list[int]
    signature: str


class JobView(BaseModel):
    """A job or SubJob as the API returns it."""

    jobId: str
    parentId: str | None
    subIndex: int | None
    requester: str
    programId: str
    datasetKey: str
    params: str
    fee: int
    timeoutSeconds: int
    expiresAt: float
    splittable: bool
    state: str
    attempt: int
    node: str | None
    resultKey: str | None
    fuel: int | None
    children: int
    reason: str | None
    processingDeadline: float | None
    ticketId: int | None
    createdAt: float
    updatedAt: float


class TicketView(BaseModel):
    """A stored Ticket: everything needed to post it (``postTicket``, with its signature)
    and finalize it (``finalizeTicket``)."""

    ticketId: int
    node: str
    signer: str
    jobsRoot: str
    jobCount: int
    fuel: int
    penalty: int
    debitsRoot: str
    debitCount: int
    totalDebit: int
    validUntil: int
    debits: list[DebitModel]
    jobIds: list[str]
    signature: str
    settled: bool
    expired: bool
    settledTx: str | None
    createdAt: float


class DebitProofView(BaseModel):
    """``GET /requesters/{r}/debit``: a requester's newest leaf in this execution layer's
    Tickets and its proof (the ``DebitProof`` of ``EmethCore.requestWithdrawal``)."""

    requester: str
    ticketId: int
    cumulative: int
    prevTicketId: int
    index: int
    proof: list[str]
    settled: bool
    carry: int = Field(0, description="its debits in expired Tickets not yet carried")


class FundsView(BaseModel):
    """What a requester can still commit: L1 deposit − pending withdrawal − committed fees."""

    requester: str
    deposit: int
    pendingWithdrawal: int
    committed: int
    available: int


class PenaltyView(BaseModel):
    """A penalty recorded against a node (burned on L1 by its next Ticket)."""

    id: int
    node: str
    jobId: str
    attempt: int
    amount: int
    reason: str
    ticketId: int | None
    createdAt: float


class LeavesSubmission(BaseModel):
    """``POST /tickets/{id}/leaves``: a posted Ticket and its ``JobBacking`` leaves, in order."""

    model_config = ConfigDict(extra="forbid")

    ticket: dict[str, Any]
    leaves: list[dict[str, Any]]
