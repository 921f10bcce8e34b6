"""The platform simulator: a local HTTP server that answers the paths of m.weibo.cn, Toutiao's profile
feeds, the WeChat MP backend and article pages, and the RSS bridges (RSSHub, wewe-rss, Wechat2RSS), with
the real response shapes and failure modes, for deterministic scenarios with a recorded ground truth.

    from simulator import build_scenario, start_simulator
    with start_simulator(build_scenario("truth")) as sim:
        ...  # point GOVPULSE_WEIBO_BASE_URL etc. at sim.base_url

See docs/simulator.md.
"""

from simulator.scenario import SCENARIOS, Scenario, SimAccount, Unit, build_scenario
from simulator.server import ENV_NAMES, SimulatorHandle, serve, start_simulator

__all__ = [
    "ENV_NAMES",
    "SCENARIOS",
    "Scenario",
    "SimAccount",
    "SimulatorHandle",
    "Unit",
    "build_scenario",
    "serve",
    "start_simulator",
]
