"""make loadtest's page budgets were set on one machine; on a slower or faster one every page
costs alike more or less, so each budget follows the login page measured in the same rounds."""

from bench.loadtest.report import REFERENCE_LOGIN_MS, PageCost, machine_scale, pages_table


def cost(name: str, web_ms: float) -> PageCost:
    return PageCost(name=name, served=1000, seconds=3.0, web_s=web_ms, db_s=None, p50=10,
                    p95=20, failures=0, load_s=0.1)  # fmt: skip


def test_on_a_machine_twice_as_slow_a_page_may_cost_twice_its_budget():
    costs = [cost("dashboard", 9.0), cost("login page", 2 * REFERENCE_LOGIN_MS)]
    scale = machine_scale(costs)
    assert scale == 2.0
    assert costs[0].within(scale) and not costs[0].within(1.0)
    assert "≤ 5 × 2.00 = 10.0: within" in pages_table(costs)[1]


def test_a_page_over_its_scaled_budget_fails():
    costs = [cost("board", 31.0), cost("login page", 2 * REFERENCE_LOGIN_MS)]
    assert not costs[0].within(machine_scale(costs))
    assert "OVER" in pages_table(costs)[1]
