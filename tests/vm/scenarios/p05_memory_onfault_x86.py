import _peers as p

SCENARIO = p.worst_scenario("p05_memory_onfault_x86", "memory", "onfault")
