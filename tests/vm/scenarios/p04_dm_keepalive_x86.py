import _peers as p

SCENARIO = p.worst_scenario("p04_dm_keepalive_x86", "dm", "keepalive")
