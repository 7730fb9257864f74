"""Property tests: the ledger against a plain dict model (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offchain.chain.accounts import dev_account
from offchain.rollup.ledger.ledger import Ledger, TxRejected
from offchain.rollup.ledger.state import State, balance_key, verify_proof
from offchain.rollup.ledger.tx import ETH, Deposit, Domain, sign_transfer, sign_withdraw

DOMAIN = Domain(901, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
TOKENS = [ETH, "0x1000000000000000000000000000000000000001"]
ACCOUNTS = [dev_account(20 + i) for i in range(4)]
SEQ = dev_account(30).address

op = st.one_of(
    st.tuples(
        st.just("deposit"),
        st.integers(0, 3),
        st.integers(0, 1),
        st.integers(0, 10**6),
        st.booleans(),
    ),
    # Transfers and withdrawals: (kind, from, to, token, amount, fee, nonce offset).
    *(
        st.tuples(
            st.just(kind),
            st.integers(0, 3),
            st.integers(0, 3),
            st.integers(0, 1),
            st.integers(0, 4000),
            st.integers(0, 50),
            st.integers(-1, 1),
        )
        for kind in ("transfer", "withdraw")
    ),
)


class Model:
    """What the ledger must do, written as plainly as possible."""

    def __init__(self) -> None:
        self.bal: dict[tuple[str, str], int] = {}
        self.nonce: dict[str, int] = {}
        self.next_deposit = 0
        self.withdrawn: list[tuple[str, str, int]] = []

    def user_tx(
        self, kind: str, frm: str, dest: str, token: str, amount: int, fee: int, nonce: int
    ) -> str | None:
        if amount == 0:
            return "zero_amount"
        if nonce != self.nonce.get(frm, 0):
            return "wrong_nonce"
        if self.bal.get((frm, token), 0) < amount + fee:
            return "insufficient_balance"
        self.nonce[frm] = nonce + 1
        self.bal[(frm, token)] = self.bal.get((frm, token), 0) - amount - fee
        if kind == "transfer":
            self.bal[(dest, token)] = self.bal.get((dest, token), 0) + amount
        else:
            self.withdrawn.append((dest, token, amount))
        self.bal[(SEQ, token)] = self.bal.get((SEQ, token), 0) + fee
        return None


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(op, min_size=1, max_size=30), rollback_at=st.integers(0, 30))
def test_ledger_matches_dict_model(ops, rollback_at) -> None:
    led, model = Ledger(DOMAIN), Model()
    cp = None
    snapshot = None
    applied = []
    for pos, o in enumerate(ops):
        if pos == rollback_at:
            cp, snapshot = (
                led.checkpoint(),
                (dict(model.bal), dict(model.nonce), model.next_deposit, led.root),
            )
        if o[0] == "deposit":
            _, to, tok, amount, in_order = o
            did = model.next_deposit if in_order else model.next_deposit + 1
            tx = Deposit(did, ACCOUNTS[0].address, ACCOUNTS[to].address, TOKENS[tok], amount)
            if in_order:
                led.apply(tx)
                model.next_deposit += 1
                key = (ACCOUNTS[to].address, TOKENS[tok])
                model.bal[key] = model.bal.get(key, 0) + amount
                applied.append((tx, SEQ))
            else:
                try:
                    led.apply(tx)
                    raise AssertionError("a skipped deposit was accepted")
                except TxRejected as e:
                    assert e.code == "deposit_out_of_order"
            continue
        kind, frm, dest, tok, amount, fee, nonce_off = o
        acct = ACCOUNTS[frm]
        nonce = max(0, model.nonce.get(acct.address, 0) + nonce_off)
        sign = sign_transfer if kind == "transfer" else sign_withdraw
        tx = sign(acct, DOMAIN, ACCOUNTS[dest].address, TOKENS[tok], amount, fee, nonce)
        expected = model.user_tx(
            kind, acct.address, ACCOUNTS[dest].address, TOKENS[tok], amount, fee, nonce
        )
        root = led.root
        try:
            r = led.apply(tx, SEQ)
        except TxRejected as e:
            assert e.code == expected, (e.code, expected)
            assert led.root == root
            continue
        assert expected is None, f"ledger accepted a tx the model rejects: {expected}"
        assert (r.withdrawal is not None) == (kind == "withdraw")
        applied.append((tx, SEQ))
    for (acct, token), v in model.bal.items():
        assert led.balance(acct, token) == v
    for acct, n in model.nonce.items():
        assert led.nonce(acct) == n
    # Conservation: total balance = deposits - withdrawals (per token).
    for token in TOKENS:
        assert sum(v for (_, t), v in model.bal.items() if t == token) == sum(
            led.balance(a.address, token) for a in ACCOUNTS
        ) + led.balance(SEQ, token)
    # Determinism: replaying the accepted txs on a fresh state gives the same root.
    fresh = Ledger(DOMAIN, State())
    for tx, fee in applied:
        fresh.apply(tx, fee)
    assert fresh.root == led.root
    # Every balance has a verifying proof.
    for (acct, token), v in list(model.bal.items())[:5]:
        assert verify_proof(led.root, led.state.prove(balance_key(acct, token))) == v
    if cp is not None and snapshot is not None:
        led.rollback(cp)
        assert led.root == snapshot[3]
        assert led.state.next_deposit_id == snapshot[2]
        for (acct, token), v in snapshot[0].items():
            assert led.balance(acct, token) == v
