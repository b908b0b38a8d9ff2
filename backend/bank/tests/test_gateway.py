"""The simulated bank."""

from __future__ import annotations

from bank import gateway as bank


def test_the_simulator_draws_the_contract_mix_reproducibly():
    simulator = bank.SimulatedBank(outcome="random", seed="42")
    draws = [simulator._draw(f"PO{i:012d}", 1) for i in range(10_000)]
    again = [simulator._draw(f"PO{i:012d}", 1) for i in range(10_000)]

    assert draws == again
    share = {outcome: draws.count(outcome) / len(draws) for outcome in (bank.SETTLED, bank.DECLINED, bank.NO_ANSWER)}
    assert 0.68 < share[bank.SETTLED] < 0.72
    assert 0.18 < share[bank.DECLINED] < 0.22
    assert 0.08 < share[bank.NO_ANSWER] < 0.12
