import _peers as p

SCENARIO = p.worst_scenario("p05_memory_keepalive_x86", "memory", "keepalive")
