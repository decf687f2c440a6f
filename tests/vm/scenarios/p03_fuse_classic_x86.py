import _peers as p

SCENARIO = p.worst_scenario("p03_fuse_classic_x86", "fuse", "classic")
