import _peers as p

SCENARIO = p.worst_scenario("p04_dm_onfault_x86", "dm", "onfault")
