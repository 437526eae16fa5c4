"""Orphaned anti-spoofing chains, cleared once before the Linux bridge agents start.

The dev cloud runs one Linux bridge agent per compute host, all on this one kernel and so on one ebtables nat
table. On its first loop each agent deletes every neutronARP-/neutronMAC- chain whose tap device is gone, under a
lock that holds only inside its own process. With orphans left by an earlier run, the agents race: the second one
to flush a chain gets "No chain/target/match by that name" and the agent stops (CI of 2026-12-04, stop 23:
neutron-linuxbridge-agent-lgwan). Clearing the orphans first, alone, leaves the agents nothing to race over.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

# neutron's SPOOF_CHAIN_PREFIX and MAC_CHAIN_PREFIX, and the jump rules into those chains
CHAIN = re.compile(r"^Bridge chain: (neutron(?:ARP|MAC)-(\S+?)), ")
JUMP = re.compile(r"-j (neutron(?:ARP|MAC)-\S+)")


def ebtables(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ebtables", "-t", "nat", "--concurrent", *args], capture_output=True, text=True,
                          timeout=60)


def orphans(listing: str, devices: set[str]) -> list[str]:
    """The anti-spoofing chains in an `ebtables -t nat -L` listing whose device is not among `devices`."""
    found = (CHAIN.match(line) for line in listing.splitlines())
    return [m.group(1) for m in found if m and m.group(2) not in devices]


def clear(net: Path = Path("/sys/class/net")) -> list[str]:
    """Deletes the orphaned chains and the PREROUTING jumps into them; returns the chains deleted."""
    listing = ebtables("-L").stdout
    gone = orphans(listing, {p.name for p in net.iterdir()})
    if not gone:
        return []
    for rule in ebtables("-L", "PREROUTING").stdout.splitlines():
        m = JUMP.search(rule)
        if m and m.group(1) in gone:
            ebtables("-D", "PREROUTING", *rule.split())
    for chain in gone:
        # a chain another process deleted meanwhile is as good as deleted here
        ebtables("-F", chain)
        ebtables("-X", chain)
    return gone


if __name__ == "__main__":
    print("\n".join(clear()))
