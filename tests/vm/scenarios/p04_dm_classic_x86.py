import _peers as p

SCENARIO = p.worst_scenario("p04_dm_classic_x86", "dm", "classic")
