import _peers as p

SCENARIO = p.worst_scenario("p05_memory_classic_x86", "memory", "classic")
