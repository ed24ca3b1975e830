#!/usr/bin/env python3
"""seed.py OUTDIR — writes a starting corpus per fuzz target from the official vectors."""
import json, os, sys

out = sys.argv[1]
root = os.path.join(os.path.dirname(__file__), "..", "vectors", "mls")
seeds = {t: [] for t in ("message", "key_package", "welcome", "group_info", "ratchet_tree",
                         "process_handshake", "join_welcome", "group_load")}
# the group-level targets: whole messages, and "flip" inputs (0xFF, then offset/xor triples)
# applied to the fixture's own valid commit / Welcome
seeds["process_handshake"] += ["ff", "ff000001", "ff002080", "ff010001"]
seeds["join_welcome"] += ["ff", "ff000001", "ff004001", "ff020010"]
seeds["group_load"] += ["ff", "ff000001", "ff004001", "ff020010", "01"]
for c in json.load(open(os.path.join(root, "messages.json")))[:40]:
    for k in ("mls_welcome", "mls_group_info", "mls_key_package", "public_message_commit",
              "public_message_proposal", "private_message"):
        seeds["message"].append(c[k])
    seeds["welcome"].append(c["mls_welcome"][8:])       # drop version + wire format
    seeds["group_info"].append(c["mls_group_info"][8:])
    seeds["key_package"].append(c["mls_key_package"][8:])
    seeds["ratchet_tree"].append(c["ratchet_tree"])
    seeds["process_handshake"].append(c["public_message_commit"])
    seeds["join_welcome"].append(c["mls_welcome"])
for t, items in seeds.items():
    d = os.path.join(out, t)
    os.makedirs(d, exist_ok=True)
    for i, h in enumerate(items):
        with open(os.path.join(d, "seed%03d" % i), "wb") as f:
            f.write(bytes.fromhex(h))
