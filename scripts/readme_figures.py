"""README's benchmark table, generated from ``bench/results.json`` (never typed by hand).

``python scripts/readme_figures.py`` rewrites the table between the ``<!-- bench:begin -->``
and ``<!-- bench:end -->`` markers of README.md; ``--check`` exits non-zero (and names the
first differing line) when the README does not match the results file. A figure missing from
the results (its benchmark failed or was not run) is shown as "not measured", never as an
older value.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
RESULTS = ROOT / "bench" / "results.json"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
MISSING = "not measured"


@dataclass(frozen=True)
class Row:
    """One README row: a label, the figures shown (joined by " / ") and the target."""

    label: str
    keys: tuple[str, ...]
    target: str = ""
    digits: int | None = None  # decimals for floats (None: ints with separators)


ROWS: tuple[Row, ...] = (
    Row(
        "`sequencer_tps_single_tx_requests` (20,000 wallet transactions, ETH and ERC-20, one "
        "`eth_sendRawTransaction` per HTTP request from 16 clients, state > 100,000 accounts)",
        ("sequencer_tps_single_tx_requests",),
        "≥ 2,000",
        0,
    ),
    Row(
        "`sequencer_tps` (the same, in JSON-RPC batches of 500; each executed with a state "
        "root, sealed in blocks)",
        ("sequencer_tps",),
        "≥ 5,000",
        0,
    ),
    Row(
        "`l2_inclusion_p99_ms` (one request per transaction)", ("l2_inclusion_p99_ms",), "≤ 500", 0
    ),  # fmt: skip
    Row("`sequencer_rss_mb`", ("sequencer_rss_mb",), "", 1),
    Row(
        "`sequencer_rss_mb_1m_accounts` (a sequencer node whose state holds 1,000,000 accounts)",
        ("sequencer_rss_mb_1m_accounts",),
        "≤ 700",
        1,
    ),
    Row(
        "`l1_gas_per_l2_tx_at_1000_tx_batch` first / steady-state append (a real 1,000-tx "
        "batch, data in the blob store, the maximum set size)",
        ("l1_gas_per_l2_tx_at_1000_tx_batch_first", "l1_gas_per_l2_tx_at_1000_tx_batch"),
        "≤ 150",
        1,
    ),
    Row(
        "`fraud_proof_gas` (worst provable fault, incl. slash + kick + rotation)",
        ("fraud_proof_gas",),
        "≤ 500,000",
    ),
    Row(
        "`batch_data_bytes_per_transfer` (compact + zstd frame, 1,000 transfers) / ABI form / "
        "packed",
        (
            "batch_data_bytes_per_transfer",
            "batch_data_abi_bytes_per_transfer",
            "batch_data_packed_bytes_per_transfer",
        ),
        "≤ 170",
        1,
    ),
    Row(
        "`compress_mb_per_s` / `decompress_mb_per_s` (zstd level 3 on the packed batch)",
        ("compress_mb_per_s", "decompress_mb_per_s"),
        "",
        0,
    ),
    Row(
        "`l1_gas_per_l2_tx_blob_mode_at_1000_tx_batch` (the blob-carrying appendBatch's gasUsed "
        "/ 1,000; real batch, one FROST signature of the 4 sequencers' group key) / calldata mode",
        (
            "l1_gas_per_l2_tx_blob_mode_at_1000_tx_batch",
            "l1_gas_per_l2_tx_calldata_mode_at_1000_tx_batch",
        ),
        "≤ 150",
        1,
    ),
    Row(
        "`blob_gas_per_l2_tx` (blobGasUsed / 1,000; blobs per 1,000-tx batch)",
        ("blob_gas_per_l2_tx", "blobs_per_1000_tx_batch"),
        "≤ 200",
        1,
    ),
    Row(
        "`fraud_proof_gas_blob_mode` (proveBlobFault: the 1,000-tx batch's blob does not decode, "
        "two KZG openings through the point-evaluation precompile, punish included) / one opening",
        ("fraud_proof_gas_blob_mode", "fraud_proof_gas_blob_mode_one_opening"),
        "≤ 500,000",
    ),
    Row(
        "`da_answer_max_batch_txs` (chunked answer tested at 10,000 txs) / answer transactions / "
        "max gas / max bytes per transaction",
        (
            "da_answer_max_batch_txs",
            "da_answer_txs_at_10000_tx_batch",
            "da_answer_max_tx_gas",
            "da_answer_max_tx_bytes",
        ),
        "≥ 10,000 (each tx < 2^24 gas, < 128 kB)",
    ),
    Row(
        "`da_provide_blob_exec_gas_per_byte` (the answer the batcher sends, in blobs: execution "
        "gas / packed bytes) / its blob gas per byte (EIP-4844 fee market) / blob answer txs at "
        "10,000 txs / largest tx gas / bytes",
        (
            "da_provide_blob_exec_gas_per_byte",
            "da_provide_blob_gas_per_byte",
            "da_answer_blob_txs_at_10000_tx_batch",
            "da_answer_blob_max_tx_gas",
            "da_answer_blob_max_tx_bytes",
        ),
        "—",
        2,
    ),
    Row(
        "`da_provide_gas_per_byte` (the calldata path: the chunked answer, whole calls / packed "
        "bytes) / per L2 tx / EIP-7623 calldata floor of the same bytes",
        (
            "da_provide_gas_per_byte",
            "da_answer_gas_per_l2_tx",
            "da_provide_floor_gas_per_byte",
        ),
        "≤ 20 (below the EIP-7623 floor: not reachable in calldata)",
        1,
    ),
    Row(
        "`emeth_gas_per_job_billed_at_100_jobs_per_ticket` / L1-only design",
        ("emeth_gas_per_job_billed_at_100_jobs_per_ticket", "emeth_l1_only_gas_per_job"),
        "≤ 2,000",
    ),
    Row(
        "`emeth_gas_per_job_billed_100_jobs_100_requesters` (one debitsRoot, no write per "
        "requester)",
        ("emeth_gas_per_job_billed_100_jobs_100_requesters",),
        "≤ 3,000",
    ),
    Row(
        "`emeth_requester_withdraw_gas` (withdraw with a lazy-balance proof of the newest debit)",
        ("emeth_requester_withdraw_gas",),
        "≤ 120,000",
    ),
    Row(
        "`emeth_ticket_dispute_gas` (worst dispute kind, a job billed twice: Merkle proofs, "
        "the Ticket reversed, its signers' bonds slashed) / per job posted + finalized",
        ("emeth_ticket_dispute_gas", "emeth_gas_per_job_posted_finalized_100_jobs_100_requesters"),
        "≤ 300,000",
    ),
    Row(
        "`dkg_s_21_sequencers` / `reshare_s_21_sequencers` (21 daemons over HTTP, 63 shares, "
        "threshold 43)",
        ("dkg_s_21_sequencers", "reshare_s_21_sequencers"),
        "≤ 30 each",
        2,
    ),
    Row(
        "`frost_cosign_ms_21_sequencers` (one batch's signing round, every member in the "
        "package, steady state) / first round",
        ("frost_cosign_ms_21_sequencers", "frost_cosign_first_ms_21_sequencers"),
        "≤ 1,000",
        1,
    ),
    Row(
        "`batch_sig_check_gas_4/10/21/64_signers` (one FROST signature; the gas of the "
        "verifyBatchSignatures call inside a real appendBatch, from its call trace)",
        (
            "batch_sig_check_gas_4_signers",
            "batch_sig_check_gas_10_signers",
            "batch_sig_check_gas_21_signers",
            "batch_sig_check_gas_64_signers",
        ),
        "≤ 10,000, equal within 2%",
    ),
    Row("`sequencer_failover_s` (heartbeat timeout 5 s)", ("sequencer_failover_s",), "", 2),
    Row("`fraud_detect_to_slash_s`", ("fraud_detect_to_slash_s",), "", 2),
    Row("`force_tx_gas` (L1Bridge.forceTx of a signed L2 transfer)", ("force_tx_gas",), "≤ 80,000"),
    Row(
        "`escape_gas_1m_accounts` (L1Bridge.escape, a proof against a state of 1,000,000 accounts)",
        ("escape_gas_1m_accounts",),
        "≤ 200,000",
    ),
    Row(
        "`forced_tx_included_s` (devnet, censoring sequencer, 10 s forced-inclusion window)",
        ("forced_tx_included_s",),
        "",
        2,
    ),
    Row("`emeth_jobs_per_min` (register → billed on L1)", ("emeth_jobs_per_min",), "", 1),
    Row(
        "`explorer_page_ms_p95` / max (server time of every explorer page, 100 batches and "
        "20,000 L2 txs indexed)",
        ("explorer_page_ms_p95", "explorer_page_ms_max"),
        "≤ 200",
        1,
    ),
    Row(
        "`explorer_index_lag_s` / max (L1 deposit mined → shown on the bridge page)",
        ("explorer_index_lag_s", "explorer_index_lag_max_s"),
        "≤ 5",
        2,
    ),
    Row(
        "`agent_recovery_s` / max (blob store back after an outage → the batcher's next batch on "
        "L1, default backoff)",
        ("agent_recovery_s", "agent_recovery_max_s"),
        "≤ 10",
        2,
    ),
    Row(
        "`reorg_batch_resubmit_s` / max (`anvil_reorg` removes a batch → re-appended at the same "
        "index)",
        ("reorg_batch_resubmit_s", "reorg_batch_resubmit_max_s"),
        "≤ 10",
        2,
    ),
    Row(
        "`mutation_kill_pct` / `mutants_total` (`make mutation`, run by the bench; killed by the "
        "default suite's listed tests)",
        ("mutation_kill_pct", "mutants_total"),
        "100 / ≥ 30",
    ),
    Row(
        "`invariant_calls_per_run` (forge's calls per invariant at the `make test-all` settings)",
        ("invariant_calls_per_run",),
        "≥ 10,000",
    ),
    Row(
        "`compile_cold_s` / `compile_cached_s`",
        ("compile_cold_s", "compile_cached_s"),
        "cached ≪ 1 s",
        3,
    ),
)


def _value(v: object, digits: int | None) -> str:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    if digits is None or isinstance(v, int):  # counts and gas stay whole numbers
        return f"{round(v):,}"
    return f"{v:,.{digits}f}"


def table(results: dict[str, object]) -> str:
    """The Markdown table (with the markers) for ``results``."""
    lines = [
        BEGIN,
        f"Measured on: {results.get('machine', MISSING)}.",
        "",
        "| figure | value | target |",
        "|---|---|---|",
    ]
    for row in ROWS:
        vals = [_value(results[k], row.digits) if k in results else MISSING for k in row.keys]
        lines.append(f"| {row.label} | {' / '.join(vals)} | {row.target} |")
    if "failed" in results:
        lines += ["", f"Benchmarks that failed in this run: {results['failed']}."]
    lines.append(END)
    return "\n".join(lines)


def render(readme: str, results: dict[str, object]) -> str:
    """``readme`` with its marked table replaced.

    Raises:
        ValueError: if the markers are missing.
    """
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no {BEGIN} ... {END} block")
    return readme[:start] + table(results) + readme[end + len(END) :]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="fail if README.md is out of date")
    args = ap.parse_args(argv)
    try:
        results = json.loads(RESULTS.read_text())
        old = README.read_text()
        new = render(old, results)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.check:
        if new != old:
            diff = next(
                (n for o, n in zip(old.splitlines(), new.splitlines(), strict=False) if o != n),
                "",
            )
            print(
                "error: README.md benchmark table differs from bench/results.json "
                f"(first differing line: {diff!r}); run `python scripts/readme_figures.py`",
                file=sys.stderr,
            )
            return 1
        return 0
    README.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
