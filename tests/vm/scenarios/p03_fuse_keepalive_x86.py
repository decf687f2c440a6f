import _peers as p

SCENARIO = p.worst_scenario("p03_fuse_keepalive_x86", "fuse", "keepalive")
