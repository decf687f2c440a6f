import _peers as p

SCENARIO = p.worst_scenario("p03_fuse_onfault_x86", "fuse", "onfault")
