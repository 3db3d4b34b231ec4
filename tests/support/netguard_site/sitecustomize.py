"""Loaded by Python at start-up when this folder is on PYTHONPATH (support.netguard.guarded_env)."""

import os

if os.environ.get("GEOHAZARD_NET_GUARD") == "1":
    from support import netguard

    netguard.install()
