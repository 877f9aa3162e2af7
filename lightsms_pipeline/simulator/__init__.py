"""A local stand-in for the LightSMS HTTP API (LightSMS has no sandbox): traffic, faults, server."""

from lightsms_pipeline.simulator.cli import run_simulator_cli
from lightsms_pipeline.simulator.faults import FaultKind, FaultPlan
from lightsms_pipeline.simulator.server import SimulatorServer, SimulatorStats
from lightsms_pipeline.simulator.traffic import SimMessage, Traffic

__all__ = [
    "FaultKind",
    "FaultPlan",
    "SimMessage",
    "SimulatorServer",
    "SimulatorStats",
    "Traffic",
    "run_simulator_cli",
]
